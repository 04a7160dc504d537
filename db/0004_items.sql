CREATE TABLE `item_embedding_models` (
	`version` text PRIMARY KEY NOT NULL,
	`dim` integer NOT NULL,
	`card` text NOT NULL,
	`items` text NOT NULL,
	`vectors` blob NOT NULL,
	`active` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `item_embedding_models_active_uq` ON `item_embedding_models` (`active`) WHERE active = 1;--> statement-breakpoint
CREATE INDEX `item_embedding_models_created_idx` ON `item_embedding_models` (`created_at`);--> statement-breakpoint
CREATE TABLE `items` (
	`id` text PRIMARY KEY NOT NULL,
	`title` text,
	`category` text,
	`price` real,
	`attributes` text DEFAULT '{}' NOT NULL,
	`source` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
