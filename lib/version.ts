/** denopod's version, printed by `version` and `info`. */
export const VERSION = "0.1.0";
