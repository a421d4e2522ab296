"""Storage of the home feed, all in one package (the feed's services are services.feed):

- `cache`: the cached feeds in Redis (one sorted set per user, with its horizon), the RANKED
  paging snapshots and the record of posts shown (impressions, read with the like counters).
- `sql`: the feed's PostgreSQL queries: followers for fan-out, the pull side, the candidate
  query that checks cached entries and reads the page's views in one statement, and the
  inputs of ranking.
- `keys`: FeedKey, the sort key both sides share.

The SQL lives here rather than in storage/pg/ because its queries mirror the cache's rules
(the horizon, the celebrity threshold): one is not read without the other.
"""
