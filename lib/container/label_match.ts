/**
 * podman's label filters (`--filter label=KEY[=VALUE]`), shared by the container filters
 * (`./filters.ts`) and the image list (`../image/list.ts`), which loads only this.
 * @module
 */

/** podman's MatchLabelFilters: every `KEY[=VALUE]` given must be among the labels. */
export function matchLabels(filters: readonly string[], labels: Record<string, string>): boolean {
  return filters.every((filter) => {
    const eq = filter.indexOf("=");
    const key = eq < 0 ? filter : filter.slice(0, eq);
    const value = eq < 0 ? "" : filter.slice(eq + 1);
    return Object.entries(labels).some(([k, v]) =>
      (value === "" || v === value) && (k === key || globMatch(key, k))
    );
  });
}

/** Go's filepath.Match for label keys with `*` and `?`. */
function globMatch(pattern: string, text: string): boolean {
  if (!/[*?[]/.test(pattern)) return false;
  const source = pattern.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(
    /\?/g,
    "[^/]",
  );
  try {
    return new RegExp(`^${source}$`).test(text);
  } catch {
    return false;
  }
}
