-- Support lines: what the caller chose in the IVR menus (language, line,
-- severity), whether the call arrived inside the line's hours (1/0, NULL
-- until routed), and tries on the menu being asked. The org's advanced
-- support contract (Severity A) is a profile field.
ALTER TABLE calls ADD COLUMN language TEXT;
ALTER TABLE calls ADD COLUMN line TEXT;
ALTER TABLE calls ADD COLUMN severity TEXT CHECK (severity IS NULL OR severity IN ('A', 'B', 'C'));
ALTER TABLE calls ADD COLUMN inside_hours BIGINT CHECK (inside_hours IS NULL OR inside_hours IN (0, 1));
ALTER TABLE calls ADD COLUMN menu_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orgs ADD COLUMN severity_a BIGINT NOT NULL DEFAULT 0 CHECK (severity_a IN (0, 1));
