-- users.data_version: bumped by these triggers whenever a row of the user's identities or traits is
-- written, so every writer (any process, any code path) changes the users row a cached profile answer
-- is keyed on (src/api/profile-cache.ts). Event counts need none: user_event_counts is written with
-- the user's row in the same transaction by every path (ingestion: event_count; a merge and an
-- erasure of events: profile_version).
ALTER TABLE "users" ADD COLUMN "data_version" bigint DEFAULT 0 NOT NULL;
--> statement-breakpoint
CREATE FUNCTION "users_data_version_bump"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    UPDATE "users" SET "data_version" = "data_version" + 1 WHERE "id" = OLD."user_id";
  END IF;
  IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW."user_id" IS DISTINCT FROM OLD."user_id") THEN
    UPDATE "users" SET "data_version" = "data_version" + 1 WHERE "id" = NEW."user_id";
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "identities_data_version" AFTER INSERT OR UPDATE OR DELETE ON "identities" FOR EACH ROW EXECUTE FUNCTION "users_data_version_bump"();
--> statement-breakpoint
CREATE TRIGGER "traits_data_version" AFTER INSERT OR UPDATE OR DELETE ON "traits" FOR EACH ROW EXECUTE FUNCTION "users_data_version_bump"();
