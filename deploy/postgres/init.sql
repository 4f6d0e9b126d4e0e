-- Runs once, when the PostgreSQL container starts on an empty data directory
-- (docker-entrypoint-initdb.d), in the database POSTGRES_DB as POSTGRES_USER.
-- One schema per service: each service's URL selects its own with search_path, and its
-- migrations create their tables and version table there.
CREATE SCHEMA IF NOT EXISTS classification;
CREATE SCHEMA IF NOT EXISTS complaints;
CREATE SCHEMA IF NOT EXISTS evaluation;
