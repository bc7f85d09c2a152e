-- 0008: find the rows that name a file by its digest, so that the server
-- serves a file only to a workstation allowed to read a row naming it
-- (a desk never gets the attachments of a confidential application, even
-- knowing their impronta, which the protocol register prints).
CREATE INDEX application_attachments_sha ON application_attachments (sha256);
CREATE INDEX protocol_documents_sha ON protocol_documents (sha256);
