/**
 * systemd's `Restart=` values, as podman accepts them for `generate systemd --restart-policy`:
 * the command table completes them and the unit generator checks against them.
 * @module
 */

/** systemd's `Restart=` values podman accepts for `--restart-policy`. */
export const SYSTEMD_RESTART_POLICIES: readonly string[] = [
  "no",
  "on-success",
  "on-failure",
  "on-abnormal",
  "on-watchdog",
  "on-abort",
  "always",
];
