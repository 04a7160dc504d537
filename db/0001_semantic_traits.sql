CREATE TABLE `llm_cache` (
	`key` text PRIMARY KEY NOT NULL,
	`user_id` integer,
	`response` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `llm_cache_user_idx` ON `llm_cache` (`user_id`);--> statement-breakpoint
CREATE TABLE `llm_calls` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`user_id` integer,
	`purpose` text NOT NULL,
	`model` text NOT NULL,
	`prompt_version` text NOT NULL,
	`prompt_tokens` integer DEFAULT 0 NOT NULL,
	`completion_tokens` integer DEFAULT 0 NOT NULL,
	`latency_ms` integer DEFAULT 0 NOT NULL,
	`status` text NOT NULL,
	`error` text,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `llm_calls_at_idx` ON `llm_calls` (`at`);--> statement-breakpoint
CREATE TABLE `signal_embeddings` (
	`event_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`embedder_id` text NOT NULL,
	`dim` integer NOT NULL,
	`vector` blob NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`event_id`, `embedder_id`),
	FOREIGN KEY (`event_id`) REFERENCES `events`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `signal_embeddings_user_idx` ON `signal_embeddings` (`user_id`,`embedder_id`);--> statement-breakpoint
CREATE TABLE `signal_extractions` (
	`event_id` integer NOT NULL,
	`producer` text NOT NULL,
	`version` text NOT NULL,
	`extracted_at` integer NOT NULL,
	PRIMARY KEY(`event_id`, `producer`, `version`),
	FOREIGN KEY (`event_id`) REFERENCES `events`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `user_embeddings` (
	`user_id` integer NOT NULL,
	`embedder_id` text NOT NULL,
	`dim` integer NOT NULL,
	`vector` blob NOT NULL,
	`signals` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`user_id`, `embedder_id`),
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
ALTER TABLE `users` ADD `profile_version` integer DEFAULT 0 NOT NULL;