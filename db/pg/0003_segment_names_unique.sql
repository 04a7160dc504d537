-- Segments saved before names were unique keep their rows: a later duplicate gets " (#id)" appended.
UPDATE "segments" SET "name" = "name" || ' (#' || "id" || ')' WHERE "id" NOT IN (SELECT min("id") FROM "segments" GROUP BY "name");--> statement-breakpoint
CREATE UNIQUE INDEX "segments_name_uq" ON "segments" USING btree ("name");
