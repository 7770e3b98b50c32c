-- Converted by replog from a logical log: one statement per row change.
-- TIMESTAMP literals are UTC.
SET time_zone = '+00:00';

-- txid 1 at 2023-11-14 22:13:20 UTC, server 2, origin 0-2-1
START TRANSACTION;
USE `shop`;
CREATE TABLE items (id BIGINT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(40), price DECIMAL(10,2) NOT NULL, notes TEXT);
COMMIT;

-- txid 2 at 2023-11-14 22:13:21 UTC, server 2, origin 0-2-2
START TRANSACTION;
INSERT INTO `shop`.`items` (`id`, `name`, `price`, `notes`) VALUES (1, 'widget', 9.99, NULL);
INSERT INTO `shop`.`items` (`id`, `name`, `price`, `notes`) VALUES (2, 'gadget', 5.00, 'a long note');
COMMIT;

-- txid 3 at 2023-11-14 22:13:22 UTC, server 2, origin 0-2-3
START TRANSACTION;
UPDATE `shop`.`items` SET `name` = 'widget', `price` = 8.99, `notes` = NULL WHERE `id` = 1;
UPDATE `shop`.`items` SET `id` = 20, `name` = 'gadget', `price` = 5.00 WHERE `id` = 2;
UPDATE `shop`.`items` SET `notes` = 'restocked' WHERE `id` = 1;
COMMIT;

-- txid 4 at 2023-11-14 22:13:23 UTC, server 2, origin 0-2-4
START TRANSACTION;
DELETE FROM `shop`.`items` WHERE `id` = 1;
DELETE FROM `shop`.`items` WHERE `id` = 20;
COMMIT;

-- txid 5 at 2023-11-14 22:13:24 UTC, server 2, origin 0-2-5
START TRANSACTION;
ALTER TABLE items ADD COLUMN added DATETIME(6);
INSERT INTO `shop`.`items` (`id`, `name`, `price`, `notes`, `added`) VALUES (3, 'gizmo', 12.50, NULL, '2023-11-14 22:13:24.123456');
COMMIT;

-- txid 6 at 2023-11-14 22:13:25 UTC, server 2, origin 0-2-6
START TRANSACTION;
CREATE TABLE all_types (k INT UNSIGNED PRIMARY KEY, ...);
INSERT INTO `shop`.`all_types` (`k`, `c_tinyint`, `c_smallint`, `c_mediumint`, `c_bigint`, `c_decimal`, `c_float`, `c_double`, `c_char`, `c_blob`, `c_binary`, `c_varbinary`, `c_date`, `c_time`, `c_datetime`, `c_timestamp`, `c_year`, `c_enum`, `c_set`, `c_bit`, `c_bool`, `c_json`, `c_geo`) VALUES (1, -128, 65535, -8388608, 18446744073709551615, -1234567890123456.7890, 1.5e0, -2.25e0, 'ab', X'00FF10', X'62696E', X'', '0000-00-00', '-838:59:59.999000', '1999-12-31 23:59:59', '2023-11-14 22:13:25.000001', 2024, 'large', 'red,blue', 21, TRUE, '{"tags":["a","b"]}', X'0101000000');
COMMIT;

-- txid 7 at 2023-11-14 22:13:26 UTC, server 2, origin 0-2-7
START TRANSACTION;
TRUNCATE TABLE `shop`.`items`;
TRUNCATE TABLE `shop`.`all_types`;
COMMIT;
