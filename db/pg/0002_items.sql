CREATE TABLE "item_embedding_models" (
	"version" text PRIMARY KEY NOT NULL,
	"dim" integer NOT NULL,
	"card" text NOT NULL,
	"items" text NOT NULL,
	"vectors" "bytea" NOT NULL,
	"active" integer DEFAULT 0 NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "items" (
	"id" text PRIMARY KEY NOT NULL,
	"title" text,
	"category" text,
	"price" double precision,
	"attributes" text DEFAULT '{}' NOT NULL,
	"source" text NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "item_embedding_models_active_uq" ON "item_embedding_models" USING btree ("active") WHERE active = 1;--> statement-breakpoint
CREATE INDEX "item_embedding_models_created_idx" ON "item_embedding_models" USING btree ("created_at");