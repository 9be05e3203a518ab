"""The knowledge base: articles, parameters, ingestion, hybrid search, answers, loan calculator."""
