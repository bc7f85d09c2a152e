-- Search keys recomputed from their sources (store/derived.go): a merge of
-- writes of different source columns, or a conflict's losing value
-- restored, could leave a citizen's search_name or doc_number_folded
-- describing values the row no longer has, so that searching by the
-- current name or document did not find it. From this version on every
-- replica recomputes them after such writes; this brings the rows written
-- before in step. Every replica runs it on its own copy: same sources,
-- same keys.
UPDATE citizens SET search_name = sportello_fold(surname || ' ' || name)
 WHERE search_name <> sportello_fold(surname || ' ' || name);
UPDATE citizens SET doc_number_folded = sportello_fold_document(doc_number)
 WHERE doc_number_folded <> sportello_fold_document(doc_number);
