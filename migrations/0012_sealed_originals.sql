-- completeUpload moves the uploaded object out of its presigned URL's reach (a presigned S3 PUT
-- cannot be revoked) to a key of its own, then checks it; processing reads that key only.
-- NULL for media completed before this migration (their original is uploads/<id>/original).
-- depends: 0010_deleted_media

ALTER TABLE media ADD COLUMN original_key text;
