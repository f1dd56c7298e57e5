/**
 * The Go `text/template` subset podman's `--format` takes, and podman's table handling around it.
 *
 * Templates: text and `{{…}}` actions with `{{-`/`-}}` trimming and `{{/* comments *\/}}`; fields
 * (`.Name`, `.State.Status`, `$`, `$x.Name`); `if`/`else if`/`else`, `range` (with `$i, $v :=`
 * and `else`), `with`, variables (`$x := …`, `$x = …`); pipelines with `|`; literals (strings,
 * raw strings, numbers, `true`, `false`, `nil`); parenthesised pipelines. Functions: Go's `and`,
 * `or`, `not`, `len`, `index`, `slice`, `eq`, `ne`, `lt`, `le`, `gt`, `ge`, `print`, `printf`,
 * `println`, and podman's `json`, `lower`, `upper`, `title`, `join`, `split`, `pad`, `truncate`.
 *
 * Values print as Go prints them: slices `[a b]`, maps `map[a:b]` (keys sorted), nil `<nil>`, a
 * missing map key `<no value>`, a `Date` like Go's `time.Time`. A plain object is a struct: a
 * field it lacks is an error (`can't evaluate field Foo in type T`); a `Map` is a map. `json`
 * keeps an object's key order (a struct's field order) and sorts a `Map`'s keys, as Go does.
 *
 * Podman's `--format` handling ({@linkcode formatTable}): `\t` and `\n` typed as two characters
 * become a tab and a newline; a leading `table ` prints a header row and turns spaces into tabs;
 * every row ends in a newline; tables are aligned like Go's tabwriter (min width 12, padding 2).
 *
 * @example
 * ```ts
 * renderTemplate("{{.Name}} is {{.State.Status}}", { Name: "web", State: { Status: "running" } });
 * // "web is running"
 * formatTable("table {{.ID}}\t{{.Names}}", rows, { ID: "CONTAINER ID" });
 * // "CONTAINER ID  NAMES\n3f9c0a1b2c3d  web\n"
 * ```
 * @module
 */
import { alignColumns } from "./tabwriter.ts";
import { FuncError, FUNCTIONS } from "./template/funcs.ts";
import {
  type Command,
  type ControlNode,
  lineCol,
  type Node,
  type Operand,
  type ParsedTemplate,
  parseTemplate,
  type Pipeline,
  type Pos,
  TemplateError,
  type TemplateOptions,
} from "./template/parse.ts";
import {
  formatGoValue,
  goTypeName,
  isPlainObject,
  sortedEntries,
  truth,
} from "./template/values.ts";

export { type ParsedTemplate, parseTemplate, TemplateError, type TemplateOptions };
export { formatGoValue, goJson } from "./template/values.ts";
export { goSprintf } from "./template/funcs.ts";

interface Scope {
  vars: Map<string, unknown>[];
}

class Executor {
  #tpl: ParsedTemplate;
  #root: unknown;
  #typeName?: string;
  /** The root's field values whose Go type names the messages use (`fieldTypes`). */
  #fieldTypes = new Map<unknown, string>();
  #out = "";

  constructor(tpl: ParsedTemplate, root: unknown, options: TemplateOptions) {
    this.#tpl = tpl;
    this.#root = root;
    this.#typeName = options.typeName;
    if (options.fieldTypes && root !== null && typeof root === "object") {
      for (const [field, type] of Object.entries(options.fieldTypes)) {
        const value = (root as Record<string, unknown>)[field];
        if (value !== null && typeof value === "object") this.#fieldTypes.set(value, type);
      }
    }
  }

  run(): string {
    this.#walk(this.#tpl.nodes, this.#root, { vars: [new Map([["$", this.#root]])] });
    return this.#out;
  }

  #fail(pos: Pos, why: string): never {
    const at = pos.source.length > 20 ? `${pos.source.slice(0, 20)}...` : pos.source;
    throw new TemplateError(
      `template: ${this.#tpl.name}:${
        lineCol(this.#tpl.text, pos.offset, this.#tpl.columnShift)
      }: executing "${this.#tpl.name}" at <${at}>: ${why}`,
    );
  }

  #walk(nodes: readonly Node[], dot: unknown, scope: Scope): void {
    for (const node of nodes) {
      switch (node.kind) {
        case "text":
          this.#out += node.text;
          break;
        case "action": {
          const value = this.#pipeline(node.pipe, dot, scope);
          if (node.pipe.decl.length === 0) this.#out += formatGoValue(value);
          break;
        }
        case "if":
        case "with": {
          const inner: Scope = { vars: [...scope.vars, new Map()] };
          const value = this.#pipeline(node.pipe, dot, inner);
          if (truth(value)) this.#walk(node.list, node.kind === "with" ? value : dot, inner);
          else if (node.elseList) this.#walk(node.elseList, dot, inner);
          break;
        }
        case "range":
          this.#range(node, dot, scope);
          break;
      }
    }
  }

  #range(node: ControlNode, dot: unknown, scope: Scope): void {
    const pipe = node.pipe;
    const value = this.#pipeline({ ...pipe, decl: [] }, dot, scope);
    let items: [unknown, unknown][];
    if (value === undefined || value === null) items = [];
    else if (Array.isArray(value)) items = value.map((v, i) => [i, v]);
    else if (value instanceof Map || isPlainObject(value)) items = sortedEntries(value);
    else if (typeof value === "number" && Number.isInteger(value)) {
      items = Array.from({ length: Math.max(0, value) }, (_, i) => [i, i]);
    } else this.#fail(pipe.pos, `range can't iterate over ${formatGoValue(value)}`);
    if (items.length === 0) {
      if (node.elseList) this.#walk(node.elseList, dot, scope);
      return;
    }
    for (const [key, item] of items) {
      const vars = new Map<string, unknown>();
      if (pipe.decl.length === 1) vars.set(pipe.decl[0], item);
      if (pipe.decl.length === 2) {
        vars.set(pipe.decl[0], key);
        vars.set(pipe.decl[1], item);
      }
      this.#walk(node.list, item, { vars: [...scope.vars, vars] });
    }
  }

  #lookupVar(scope: Scope, name: string, pos: Pos): unknown {
    for (let i = scope.vars.length - 1; i >= 0; i--) {
      if (scope.vars[i].has(name)) return scope.vars[i].get(name);
    }
    this.#fail(pos, `undefined variable: ${name}`);
  }

  #pipeline(pipe: Pipeline, dot: unknown, scope: Scope): unknown {
    let value: unknown = undefined;
    let hasFinal = false;
    for (const cmd of pipe.cmds) {
      value = this.#command(cmd, dot, scope, hasFinal ? [value] : []);
      hasFinal = true;
    }
    if (pipe.decl.length === 1) {
      const name = pipe.decl[0];
      if (pipe.assign) {
        const frame = [...scope.vars].reverse().find((m) => m.has(name));
        if (!frame) this.#fail(pipe.pos, `undefined variable: ${name}`);
        frame.set(name, value);
      } else {
        scope.vars[scope.vars.length - 1].set(name, value);
      }
    }
    return value;
  }

  #command(cmd: Command, dot: unknown, scope: Scope, final: unknown[]): unknown {
    const [head, ...rest] = cmd.args;
    if (head.kind === "ident") {
      if (head.name === "and" || head.name === "or") {
        const operands = [
          ...rest.map((a) => () => this.#operand(a, dot, scope)),
          ...final.map((v) => () => v),
        ];
        if (operands.length === 0) {
          this.#fail(head.pos, `wrong number of args for ${head.name}: want at least 1 got 0`);
        }
        let v: unknown;
        for (const get of operands) {
          v = get();
          if (head.name === "and" ? !truth(v) : truth(v)) return v;
        }
        return v;
      }
      const args = [...rest.map((a) => this.#operand(a, dot, scope)), ...final];
      try {
        return FUNCTIONS[head.name](...args);
      } catch (err) {
        if (err instanceof FuncError) this.#fail(cmd.pos, err.message);
        throw err;
      }
    }
    if (head.kind === "field" || head.kind === "var" || head.kind === "pipe") {
      const args = [...rest.map((a) => this.#operand(a, dot, scope)), ...final];
      return this.#operand(head, dot, scope, args);
    }
    if (rest.length > 0 || final.length > 0) {
      this.#fail(cmd.pos, `can't give argument to non-function ${head.pos.source}`);
    }
    return this.#operand(head, dot, scope);
  }

  #operand(op: Operand, dot: unknown, scope: Scope, args?: unknown[]): unknown {
    switch (op.kind) {
      case "dot":
        return dot;
      case "literal":
        return op.value;
      case "ident":
        return this.#command({ args: [op], pos: op.pos }, dot, scope, []);
      case "field":
        return this.#chain(dot, op.names, op.pos, args, dot === this.#root);
      case "var": {
        const value = this.#lookupVar(scope, op.name, op.pos);
        return op.names.length === 0
          ? value
          : this.#chain(value, op.names, op.pos, args, op.name === "$");
      }
      case "pipe": {
        const value = this.#pipeline(op.pipe, dot, scope);
        return op.names.length === 0 ? value : this.#chain(value, op.names, op.pos, args, false);
      }
    }
  }

  #chain(
    receiver: unknown,
    names: string[],
    pos: Pos,
    args: unknown[] = [],
    isRoot = false,
  ): unknown {
    let value = receiver;
    let rootNow = isRoot;
    names.forEach((name, i) => {
      const last = i === names.length - 1;
      value = this.#field(value, name, pos, last ? args : [], rootNow);
      rootNow = false;
    });
    return value;
  }

  #field(receiver: unknown, name: string, pos: Pos, args: unknown[], isRoot: boolean): unknown {
    if (receiver instanceof Map) {
      if (args.length > 0) this.#fail(pos, `${name} is not a method but has arguments`);
      return receiver.get(name);
    }
    if (receiver === null || receiver === undefined) {
      this.#fail(pos, `nil pointer evaluating interface {}.${name}`);
    }
    const typeName = this.#fieldTypes.get(receiver) ??
      goTypeName(receiver, isRoot ? this.#typeName : undefined);
    if (typeof receiver !== "object" || Array.isArray(receiver) || !hasField(receiver, name)) {
      this.#fail(pos, `can't evaluate field ${name} in type ${typeName}`);
    }
    const value = (receiver as Record<string, unknown>)[name];
    if (typeof value === "function") {
      try {
        return value.apply(receiver, args);
      } catch (err) {
        this.#fail(
          pos,
          `error calling ${name}: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
    if (args.length > 0) this.#fail(pos, `${name} is not a method but has arguments`);
    return value;
  }
}

/** True when `name` is an own property or a getter/method of a class (not of `Object`). */
function hasField(obj: object, name: string): boolean {
  if (Object.hasOwn(obj, name)) return true;
  for (
    let p = Object.getPrototypeOf(obj);
    p && p !== Object.prototype;
    p = Object.getPrototypeOf(p)
  ) {
    if (Object.hasOwn(p, name) && name !== "constructor") return true;
  }
  return false;
}

/**
 * Runs a Go template against `data` and returns the text (no `\t`/`\n` unescaping, no newline
 * added: see {@linkcode formatTable} for podman's `--format` handling). Throws
 * `InvalidArgError` (a {@linkcode TemplateError}) with Go's message shape, e.g.
 * `template: format:1:2: executing "format" at <.Foo>: can't evaluate field Foo in type T`.
 *
 * @example
 * ```ts
 * renderTemplate('{{index .Labels "app"}} {{json .Names}}', { Labels: { app: "web" }, Names: ["a"] });
 * // 'web ["a"]'
 * ```
 */
export function renderTemplate(
  template: string | ParsedTemplate,
  data: unknown,
  options: TemplateOptions = {},
): string {
  const tpl = typeof template === "string" ? parseTemplate(template, options) : template;
  return new Executor(tpl, data, options).run();
}

// podman's --format handling

/** True when a `--format` value asks for a table (`table …`). */
export function isTableFormat(format: string): boolean {
  return format.startsWith("table ");
}

/**
 * podman's `NormalizeFormat`: `\t` and `\n` typed as two characters become a tab and a newline;
 * with a leading `table ` the prefix goes and every space becomes a tab (a column break); the
 * result ends in a newline.
 *
 * @example
 * ```ts
 * normalizeFormat("table {{.ID}} {{.Names}}"); // "{{.ID}}\t{{.Names}}\n"
 * normalizeFormat("{{.ID}}\\t{{.Names}}");     // "{{.ID}}\t{{.Names}}\n"
 * ```
 */
export function normalizeFormat(format: string): string {
  let f = format.replaceAll("\\t", "\t").replaceAll("\\n", "\n");
  if (isTableFormat(format)) f = f.slice("table ".length).replaceAll(" ", "\t");
  return f.endsWith("\n") ? f : `${f}\n`;
}

/** 1 lower-case letter, 2 upper-case, 3 digit, 4 other (ASCII without Unicode tables). */
function asciiClass(ch: string): number {
  return ch >= "a" && ch <= "z" ? 1 : ch >= "A" && ch <= "Z" ? 2 : ch >= "0" && ch <= "9" ? 3 : 4;
}

/** {@linkcode asciiClass} for any character (a Unicode property class compiles slowly). */
function unicodeClass(ch: string): number {
  return /\p{Ll}/u.test(ch) ? 1 : /\p{Lu}/u.test(ch) ? 2 : /\p{N}/u.test(ch) ? 3 : 4;
}

function classOf(ch: string): number {
  return ch < "\x80" ? asciiClass(ch) : unicodeClass(ch);
}

/** Splits a Go field name into words as podman's headers do: `CreatedAt` → `CREATED AT`. */
export function headerFromField(field: string): string {
  // fatih/camelcase: runs of lower, upper, digit and other characters; an upper run followed by
  // a lower run gives its last letter to it ("IDName" → "ID", "Name").
  const runs: string[] = [];
  let lastClass = -1;
  for (const ch of field) {
    const cls = ch < "\x80" ? asciiClass(ch) : unicodeClass(ch);
    if (cls === lastClass) runs[runs.length - 1] += ch;
    else runs.push(ch);
    lastClass = cls;
  }
  for (let i = 0; i < runs.length - 1; i++) {
    const a = [...runs[i]];
    if (
      [...runs[i]].every((ch) => classOf(ch) === 2) &&
      [...runs[i + 1]].every((ch) => classOf(ch) === 1)
    ) {
      runs[i + 1] = a.pop() + runs[i + 1];
      runs[i] = a.join("");
    }
  }
  return runs.filter((r) => r !== "").join(" ").toUpperCase();
}

/** The column title of one action: the caller's override, else its first field, split and upper-cased. */
function headerForPipeline(pipe: Pipeline, headers: Record<string, string>): string {
  const fields: string[][] = [];
  const visit = (p: Pipeline) => {
    for (const cmd of p.cmds) {
      for (const arg of cmd.args) {
        if (arg.kind === "field") fields.push(arg.names);
        else if (arg.kind === "var" && arg.name === "$" && arg.names.length > 0) {
          fields.push(arg.names);
        } else if (arg.kind === "pipe") visit(arg.pipe);
      }
    }
  };
  visit(pipe);
  if (fields.length === 0) return "";
  const names = fields[0];
  const full = names.join(".");
  return (headers[full] ?? headerFromField(names[names.length - 1])).toUpperCase();
}

function renderHeader(nodes: readonly Node[], headers: Record<string, string>): string {
  let out = "";
  for (const node of nodes) {
    if (node.kind === "text") out += node.text;
    else if (node.kind === "action") {
      if (node.pipe.decl.length === 0) out += headerForPipeline(node.pipe, headers);
    } else out += renderHeader(node.list, headers);
  }
  return out;
}

/**
 * Formats rows for a `--format` value as podman does: normalised (see
 * {@linkcode normalizeFormat}), run once per row; with `table …` a header row first (column
 * titles from `headers` by field name, else the field name split and upper-cased:
 * `{{.CreatedAt}}` → `CREATED AT`) and the whole output aligned like Go's tabwriter. Without
 * `table`, tabs are left as they are.
 *
 * @example
 * ```ts
 * formatTable("table {{.ID}}\t{{.Status}}", [{ ID: "3f9c0a1b2c3d", Status: "Created" }],
 *   { ID: "CONTAINER ID" });
 * // "CONTAINER ID  STATUS\n3f9c0a1b2c3d  Created\n"
 * formatTable("{{.ID}}", [{ ID: "a" }, { ID: "b" }]); // "a\nb\n"
 * ```
 */
export function formatTable(
  format: string,
  rows: readonly unknown[],
  headers: Record<string, string> = {},
  options: TemplateOptions = {},
): string {
  const table = isTableFormat(format);
  const tpl = parseTemplate(normalizeFormat(format), options);
  let out = table ? renderHeader(tpl.nodes, headers) : "";
  for (const row of rows) out += renderTemplate(tpl, row, options);
  return table ? alignColumns(out) : out;
}

export { alignColumns, formatColumns } from "./tabwriter.ts";
