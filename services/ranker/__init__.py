"""The learned feed ranker (#22, docs/ranking.md): serving the active model (`serving`),
impression reports (`impressions`), training and promotion (`training`)."""
