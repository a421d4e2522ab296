-- A video's H.264 renditions (MP4s, largest first: key, width, height, average bitrate), the
-- keys of its HLS ladder (master playlist first, then each rendition's media playlist and
-- fragmented MP4), and how far a long transcode has got (0..1 while PROCESSING; NULL
-- otherwise). playback_key stays the best MP4, for clients that read videoUrl.
-- depends: 0014_privacy_and_safety

ALTER TABLE media ADD COLUMN renditions jsonb NOT NULL DEFAULT '[]';
ALTER TABLE media ADD COLUMN hls_keys text[] NOT NULL DEFAULT '{}';
ALTER TABLE media ADD COLUMN processing_progress real;
