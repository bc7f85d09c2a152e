-- 0004: the same person can reach the registry twice (registered without a
-- codice fiscale on one desk, by codice fiscale on another, both offline).
-- A unique index made the second record unappliable and stopped that
-- replica's sync; the records now coexist, listed as possible duplicates
-- for an operator (store.DB.DuplicateCitizens).
DROP INDEX citizens_cf;
CREATE INDEX citizens_cf ON citizens (codice_fiscale) WHERE codice_fiscale IS NOT NULL;
