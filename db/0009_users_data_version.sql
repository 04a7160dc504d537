-- users.data_version: bumped by these triggers whenever a row of the user's identities, traits or
-- event counts is written, so every writer (any process, any code path) changes the users row a
-- cached profile answer is keyed on (src/api/profile-cache.ts).
ALTER TABLE `users` ADD `data_version` integer DEFAULT 0 NOT NULL;
--> statement-breakpoint
CREATE TRIGGER `identities_data_version_ins` AFTER INSERT ON `identities` BEGIN UPDATE `users` SET `data_version` = `data_version` + 1 WHERE `id` = NEW.`user_id`; END;
--> statement-breakpoint
CREATE TRIGGER `identities_data_version_upd` AFTER UPDATE ON `identities` BEGIN UPDATE `users` SET `data_version` = `data_version` + 1 WHERE `id` IN (OLD.`user_id`, NEW.`user_id`); END;
--> statement-breakpoint
CREATE TRIGGER `identities_data_version_del` AFTER DELETE ON `identities` BEGIN UPDATE `users` SET `data_version` = `data_version` + 1 WHERE `id` = OLD.`user_id`; END;
--> statement-breakpoint
CREATE TRIGGER `traits_data_version_ins` AFTER INSERT ON `traits` BEGIN UPDATE `users` SET `data_version` = `data_version` + 1 WHERE `id` = NEW.`user_id`; END;
--> statement-breakpoint
CREATE TRIGGER `traits_data_version_upd` AFTER UPDATE ON `traits` BEGIN UPDATE `users` SET `data_version` = `data_version` + 1 WHERE `id` IN (OLD.`user_id`, NEW.`user_id`); END;
--> statement-breakpoint
CREATE TRIGGER `traits_data_version_del` AFTER DELETE ON `traits` BEGIN UPDATE `users` SET `data_version` = `data_version` + 1 WHERE `id` = OLD.`user_id`; END;
--> statement-breakpoint
CREATE TRIGGER `user_event_counts_data_version_ins` AFTER INSERT ON `user_event_counts` BEGIN UPDATE `users` SET `data_version` = `data_version` + 1 WHERE `id` = NEW.`user_id`; END;
--> statement-breakpoint
CREATE TRIGGER `user_event_counts_data_version_upd` AFTER UPDATE ON `user_event_counts` BEGIN UPDATE `users` SET `data_version` = `data_version` + 1 WHERE `id` IN (OLD.`user_id`, NEW.`user_id`); END;
--> statement-breakpoint
CREATE TRIGGER `user_event_counts_data_version_del` AFTER DELETE ON `user_event_counts` BEGIN UPDATE `users` SET `data_version` = `data_version` + 1 WHERE `id` = OLD.`user_id`; END;
