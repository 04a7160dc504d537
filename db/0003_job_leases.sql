ALTER TABLE `jobs` ADD `lease_until` integer;--> statement-breakpoint
CREATE INDEX `jobs_status_lease_idx` ON `jobs` (`status`,`lease_until`);