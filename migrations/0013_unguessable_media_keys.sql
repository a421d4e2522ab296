-- Published keys carry a random segment (media/<id>/<file_token>/<variant>.jpg): media ids are
-- sequential, and the files of media no published post contains (drafts, the ready items of a
-- refused carousel) must not be reachable by counting. Drawn once per media item, so a rerun of
-- its processing writes the same keys. 122 random bits (a version-4 UUID without its dashes).
-- depends: 0012_sealed_originals

ALTER TABLE media ADD COLUMN file_token text NOT NULL
    DEFAULT replace(gen_random_uuid()::text, '-', '');
