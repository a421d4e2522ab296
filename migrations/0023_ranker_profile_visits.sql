-- Profile visits from the feed as an engagement label (#22, docs/ranking.md): when the viewer
-- opened the author's profile from an impression, as the client reported it
-- (recordImpressions' `openedProfile`). NULL: not opened (or not reported).
-- depends: 0019_ranker

ALTER TABLE ranker_impressions ADD COLUMN profile_opened_at timestamptz;
