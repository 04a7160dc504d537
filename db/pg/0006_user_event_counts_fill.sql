-- Events per user and type for the counters table created by 0005 (ingestion keeps it from here on).
INSERT INTO "user_event_counts" ("user_id", "type", "n") SELECT "user_id", "type", count(*) FROM "events" GROUP BY "user_id", "type";
