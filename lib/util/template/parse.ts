/**
 * Parsing for the Go `text/template` subset podman's `--format` takes: splits text from
 * `{{…}}` actions (with `{{-`/`-}}` trimming and comments), lexes actions and builds the tree the
 * executor in `../template.ts` walks. Errors have Go's shape: `template: NAME:LINE:COL: …`.
 *
 * @example
 * ```ts
 * const tpl = parseTemplate("{{range .Names}}{{.}} {{end}}", { name: "ps" });
 * ```
 * @module
 */
import { InvalidArgError } from "../../errors.ts";
import { FUNCTIONS } from "./funcs.ts";

/** Where a node starts in the template text, and its source (for error messages). */
export interface Pos {
  offset: number;
  source: string;
}

/** One operand of a command: `.`, a field chain, a variable, a function name, a literal or `( … )`. */
export type Operand =
  | { kind: "dot"; pos: Pos }
  | { kind: "field"; names: string[]; pos: Pos }
  | { kind: "var"; name: string; names: string[]; pos: Pos }
  | { kind: "ident"; name: string; pos: Pos }
  | { kind: "literal"; value: unknown; pos: Pos }
  | { kind: "pipe"; pipe: Pipeline; names: string[]; pos: Pos };

/** One command of a pipeline: a function or value and its arguments. */
export interface Command {
  args: Operand[];
  pos: Pos;
}

/** Commands joined by `|`, with an optional `$x :=` declaration. */
export interface Pipeline {
  decl: string[];
  assign: boolean;
  cmds: Command[];
  pos: Pos;
}

/** An `if`, `with` or `range` block with its optional `else` part. */
export interface ControlNode {
  kind: "if" | "with" | "range";
  pipe: Pipeline;
  list: Node[];
  elseList: Node[] | null;
}

/** A node of the parsed template: text, an action to print, or a control block. */
export type Node =
  | { kind: "text"; text: string }
  | { kind: "action"; pipe: Pipeline }
  | ControlNode;

/** A template parsed once, to run against many values. */
export interface ParsedTemplate {
  /** The template's name, used in error messages (`template: NAME:1:2: …`). */
  readonly name: string;
  /** The template text as given. */
  readonly text: string;
  /** @internal The syntax tree. */
  readonly nodes: readonly Node[];
  /** Columns added to positions on the first line in messages (see `TemplateOptions`). */
  readonly columnShift?: number;
}

/** Options for parsing and running a template. */
export interface TemplateOptions {
  /** Name in error messages, as podman uses the command name (`ps`, `inspect`). */
  name?: string;
  /** Type name of the data in error messages (`can't evaluate field Foo in type T`). */
  typeName?: string;
  /**
   * Type names of the data's fields' values in error messages (`{{.State.Foo}}`: `can't evaluate
   * field Foo in type *define.InspectContainerState`), by field name.
   */
  fieldTypes?: Readonly<Record<string, string>>;
  /**
   * Columns to add to a position on the first line in messages: podman runs a list's template
   * inside `{{range .}}` (11 characters), so its positions there are 11 further right.
   */
  columnShift?: number;
}

type TokenKind =
  | "field"
  | "dot"
  | "var"
  | "ident"
  | "string"
  | "number"
  | "bool"
  | "nil"
  | "("
  | ")"
  | "|"
  | ","
  | ":="
  | "=";

interface Token {
  kind: TokenKind;
  text: string;
  value?: unknown;
  offset: number;
  /** True when whitespace came right before this token. */
  spaced: boolean;
}

/** A template that does not parse or does not run: bad `--format` input. */
export class TemplateError extends InvalidArgError {}

/** `LINE:COL` of an offset, as Go reports positions (line from 1, column from 0). */
export function lineCol(text: string, offset: number, columnShift = 0): string {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const col = offset - (before.lastIndexOf("\n") + 1) + (line === 1 ? columnShift : 0);
  return `${line}:${col}`;
}

function unquoteGoString(body: string, fail: (why: string) => never): string {
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== "\\") {
      out += c;
      continue;
    }
    const e = body[++i];
    const simple: Record<string, string> = {
      a: "\x07",
      b: "\b",
      f: "\f",
      n: "\n",
      r: "\r",
      t: "\t",
      v: "\v",
      "\\": "\\",
      '"': '"',
      "'": "'",
    };
    if (e in simple) {
      out += simple[e];
    } else if (e === "x" || e === "u" || e === "U") {
      const len = e === "x" ? 2 : e === "u" ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) fail("invalid escape in string");
      out += String.fromCodePoint(parseInt(hex, 16));
      i += len;
    } else if (e !== undefined && /[0-7]/.test(e)) {
      const oct = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(oct)) fail("invalid escape in string");
      out += String.fromCharCode(parseInt(oct, 8));
      i += 2;
    } else {
      fail("invalid escape in string");
    }
  }
  return out;
}

function lexAction(src: string, start: number, end: number, fail: (o: number, w: string) => never) {
  const tokens: Token[] = [];
  let i = start;
  let spaced = true;
  // ASCII first: a Unicode property class costs milliseconds to compile on first use
  const isIdentChar = (c: string) => c < "\x80" ? /[A-Za-z0-9_]/.test(c) : /[\p{L}\p{N}_]/u.test(c);
  while (i < end) {
    const c = src[i];
    if (/\s/.test(c)) {
      spaced = true;
      i++;
      continue;
    }
    const begin = i;
    const push = (kind: TokenKind, text: string, value?: unknown) => {
      tokens.push({ kind, text, value, offset: begin, spaced });
      spaced = false;
    };
    if (c === '"') {
      let j = i + 1;
      while (j < end && src[j] !== '"') j += src[j] === "\\" ? 2 : 1;
      if (j >= end) fail(begin, "unterminated quoted string");
      const text = src.slice(i, j + 1);
      push("string", text, unquoteGoString(text.slice(1, -1), (w) => fail(begin, w)));
      i = j + 1;
    } else if (c === "`") {
      const j = src.indexOf("`", i + 1);
      if (j === -1 || j >= end) fail(begin, "unterminated raw quoted string");
      push("string", src.slice(i, j + 1), src.slice(i + 1, j));
      i = j + 1;
    } else if (c === "'") {
      const m = /^'(\\.[^']*|[^\\'])'/u.exec(src.slice(i, end));
      if (!m) fail(begin, "unterminated character constant");
      const ch = unquoteGoString(m[0].slice(1, -1), (w) => fail(begin, w));
      push("number", m[0], ch.codePointAt(0) ?? 0);
      i += m[0].length;
    } else if ("()|,".includes(c)) {
      push(c as TokenKind, c);
      i++;
    } else if (c === ":" && src[i + 1] === "=") {
      push(":=", ":=");
      i += 2;
    } else if (c === "=") {
      push("=", "=");
      i++;
    } else if (c === "." && i + 1 < end && isIdentChar(src[i + 1]) && !/[0-9]/.test(src[i + 1])) {
      let j = i + 1;
      while (j < end && isIdentChar(src[j])) j++;
      push("field", src.slice(i + 1, j));
      i = j;
    } else if (c === "." && !(i + 1 < end && /[0-9]/.test(src[i + 1]))) {
      push("dot", ".");
      i++;
    } else if (c === "$") {
      let j = i + 1;
      while (j < end && isIdentChar(src[j])) j++;
      push("var", src.slice(i, j));
      i = j;
    } else if (/[0-9.+-]/.test(c)) {
      const m = /^[+-]?(0[xX][0-9a-fA-F_]+|(\d[\d_]*)?\.?\d*([eE][+-]?\d+)?)/.exec(
        src.slice(i, end),
      );
      const text = m ? m[0] : "";
      const value = Number(text.replaceAll("_", ""));
      if (text === "" || text === "+" || text === "-" || Number.isNaN(value)) {
        fail(begin, `bad number syntax: "${src.slice(i, Math.min(end, i + 10)).trim()}"`);
      }
      push("number", text, value);
      i += text.length;
    } else if (isIdentChar(c)) {
      let j = i;
      while (j < end && isIdentChar(src[j])) j++;
      const word = src.slice(i, j);
      if (word === "true" || word === "false") push("bool", word, word === "true");
      else if (word === "nil") push("nil", word, null);
      else push("ident", word);
      i = j;
    } else {
      fail(begin, `unexpected ${JSON.stringify(c)} in command`);
    }
  }
  return tokens;
}

interface RawAction {
  tokens: Token[];
  offset: number;
  end: number;
}

type Segment = { kind: "text"; text: string } | { kind: "action"; action: RawAction };

function splitSegments(src: string, fail: (o: number, w: string) => never): Segment[] {
  const segments: Segment[] = [];
  let i = 0;
  let trimNext = false;
  while (i <= src.length) {
    const open = src.indexOf("{{", i);
    let text = src.slice(i, open === -1 ? src.length : open);
    if (trimNext) text = text.replace(/^\s+/, "");
    if (open === -1) {
      if (text !== "") segments.push({ kind: "text", text });
      break;
    }
    let inner = open + 2;
    if (/^-\s/.test(src.slice(inner, inner + 2))) {
      text = text.replace(/\s+$/, "");
      inner += 1;
    }
    if (text !== "") segments.push({ kind: "text", text });
    // Find the closing braces, skipping quoted strings and comments.
    let j = inner;
    let close = -1;
    while (j < src.length) {
      const c = src[j];
      if (c === '"' || c === "`" || c === "'") {
        let k = j + 1;
        while (k < src.length && src[k] !== c) k += c !== "`" && src[k] === "\\" ? 2 : 1;
        j = k + 1;
        continue;
      }
      if (src.startsWith("/*", j)) {
        const endComment = src.indexOf("*/", j + 2);
        if (endComment === -1) fail(open, "unclosed comment");
        j = endComment + 2;
        continue;
      }
      if (src.startsWith("}}", j)) {
        close = j;
        break;
      }
      j++;
    }
    if (close === -1) fail(open, "unclosed action");
    let innerEnd = close;
    trimNext = false;
    if (/\s-$/.test(src.slice(close - 2, close))) {
      innerEnd = close - 1;
      trimNext = true;
    }
    const body = src.slice(inner, innerEnd).trim();
    if (!(body.startsWith("/*") && body.endsWith("*/"))) {
      segments.push({
        kind: "action",
        action: { tokens: lexAction(src, inner, innerEnd, fail), offset: inner, end: innerEnd },
      });
    }
    i = close + 2;
  }
  return segments;
}

class Parser {
  #segments: Segment[];
  #index = 0;
  #src: string;
  #fail: (o: number, w: string) => never;

  constructor(src: string, fail: (o: number, w: string) => never) {
    this.#src = src;
    this.#fail = fail;
    this.#segments = splitSegments(src, fail);
  }

  parse(): Node[] {
    const { nodes, stop } = this.#list();
    if (stop !== null) this.#fail(stop.offset, `unexpected {{${stop.tokens[0].text}}}`);
    return nodes;
  }

  #pos(offset: number, end: number): Pos {
    return { offset, source: this.#src.slice(offset, end).trim() };
  }

  /** Parses nodes until `else`/`end` (returned as `stop`) or the end of input. */
  #list(): { nodes: Node[]; stop: RawAction | null } {
    const nodes: Node[] = [];
    while (this.#index < this.#segments.length) {
      const seg = this.#segments[this.#index++];
      if (seg.kind === "text") {
        nodes.push({ kind: "text", text: seg.text });
        continue;
      }
      const { tokens } = seg.action;
      if (tokens.length === 0) this.#fail(seg.action.offset, "missing value for command");
      const head = tokens[0];
      if (head.kind === "ident" && (head.text === "else" || head.text === "end")) {
        return { nodes, stop: seg.action };
      }
      if (head.kind === "ident" && ["if", "with", "range"].includes(head.text)) {
        nodes.push(this.#control(head.text as "if" | "with" | "range", seg.action, 1));
        continue;
      }
      if (
        head.kind === "ident" &&
        ["define", "template", "block", "break", "continue"].includes(head.text)
      ) {
        this.#fail(head.offset, `{{${head.text}}} is not supported in --format`);
      }
      nodes.push({ kind: "action", pipe: this.#pipeline(seg.action, 0, tokens.length) });
    }
    return { nodes, stop: null };
  }

  #control(kind: "if" | "with" | "range", action: RawAction, from: number): Node {
    const pipe = this.#pipeline(action, from, action.tokens.length, kind === "range");
    const { nodes: list, stop } = this.#list();
    if (stop === null) this.#fail(action.offset, `unexpected EOF in {{${kind}}}`);
    let elseList: Node[] | null = null;
    const word = stop.tokens[0].text;
    if (word === "else") {
      if (stop.tokens.length > 1) {
        // `else if …` / `else with …`: a nested control that ends at the same `end`.
        const nested = stop.tokens[1];
        if (nested.kind !== "ident" || (nested.text !== "if" && nested.text !== "with")) {
          this.#fail(nested.offset, "unexpected token after else");
        }
        elseList = [this.#control(nested.text as "if" | "with", stop, 2)];
        return { kind, pipe, list, elseList };
      }
      const rest = this.#list();
      if (rest.stop === null || rest.stop.tokens[0].text !== "end") {
        this.#fail(stop.offset, `expected {{end}} after {{else}}`);
      }
      if (rest.stop.tokens.length > 1) this.#fail(rest.stop.offset, "unexpected token in {{end}}");
      elseList = rest.nodes;
    } else if (stop.tokens.length > 1) {
      this.#fail(stop.offset, "unexpected token in {{end}}");
    }
    return { kind, pipe, list, elseList };
  }

  #pipeline(action: RawAction, from: number, to: number, allowTwoVars = false): Pipeline {
    const tokens = action.tokens.slice(from, to);
    const startOffset = tokens[0]?.offset ?? action.offset;
    const pos = this.#pos(startOffset, action.end);
    const decl: string[] = [];
    let assign = false;
    let k = 0;
    // Declarations: `$x :=`, `$x =`, `$i, $v :=`
    const declEnd = tokens.findIndex((t) => t.kind === ":=" || t.kind === "=");
    if (declEnd > 0 && tokens[0].kind === "var") {
      const names = tokens.slice(0, declEnd);
      const valid = names.length === 1 ||
        (allowTwoVars && names.length === 3 && names[1].kind === "," && names[2].kind === "var");
      if (valid) {
        decl.push(...names.filter((t) => t.kind === "var").map((t) => t.text));
        assign = tokens[declEnd].kind === "=";
        k = declEnd + 1;
      }
    }
    const cmds: Command[] = [];
    const parsed = this.#commands(tokens, k, tokens.length, action.end);
    cmds.push(...parsed);
    if (cmds.length === 0) this.#fail(startOffset, "missing value for command");
    return { decl, assign, cmds, pos };
  }

  #commands(tokens: Token[], from: number, to: number, end: number): Command[] {
    const cmds: Command[] = [];
    let k = from;
    while (k < to) {
      const args: Operand[] = [];
      const cmdStart = tokens[k].offset;
      while (k < to && tokens[k].kind !== "|") {
        const [operand, next] = this.#operand(tokens, k, to, end);
        args.push(operand);
        k = next;
      }
      if (args.length === 0) this.#fail(cmdStart, "missing command");
      const cmdEnd = k < to ? tokens[k].offset : end;
      cmds.push({ args, pos: this.#pos(cmdStart, cmdEnd) });
      if (k < to) {
        k++; // skip "|"
        if (k >= to) this.#fail(tokens[k - 1].offset, "missing command after |");
      }
    }
    return cmds;
  }

  /** Reads `.A.B` style field names glued (no blank) to the operand just read. */
  #chain(tokens: Token[], k: number, to: number): [string[], number] {
    const names: string[] = [];
    while (k < to && tokens[k].kind === "field" && !tokens[k].spaced) {
      names.push(tokens[k].text);
      k++;
    }
    return [names, k];
  }

  #operand(tokens: Token[], k: number, to: number, end: number): [Operand, number] {
    const t = tokens[k];
    const posOf = (next: number) =>
      this.#pos(t.offset, next < tokens.length ? tokens[next].offset : end);
    switch (t.kind) {
      case "dot": {
        const [names, next] = this.#chain(tokens, k + 1, to);
        if (names.length > 0) this.#fail(t.offset, "unexpected . after term");
        return [{ kind: "dot", pos: posOf(next) }, next];
      }
      case "field": {
        const [names, next] = this.#chain(tokens, k + 1, to);
        // Go places a field chain (`.State.Health.Foo`) at its second field (`.Health`)
        const pos = { ...posOf(next), offset: tokens[names.length > 0 ? k + 1 : k].offset };
        return [{ kind: "field", names: [t.text, ...names], pos }, next];
      }
      case "var": {
        const [names, next] = this.#chain(tokens, k + 1, to);
        return [{ kind: "var", name: t.text, names, pos: posOf(next) }, next];
      }
      case "ident":
        if (!(t.text in FUNCTIONS)) this.#fail(t.offset, `function "${t.text}" not defined`);
        return [{ kind: "ident", name: t.text, pos: posOf(k + 1) }, k + 1];
      case "string":
      case "number":
      case "bool":
      case "nil":
        return [{ kind: "literal", value: t.value, pos: posOf(k + 1) }, k + 1];
      case "(": {
        let depth = 0;
        let close = -1;
        for (let j = k; j < to; j++) {
          if (tokens[j].kind === "(") depth++;
          if (tokens[j].kind === ")" && --depth === 0) {
            close = j;
            break;
          }
        }
        if (close === -1) this.#fail(t.offset, "unclosed left paren");
        const inner = tokens.slice(k + 1, close);
        if (inner.length === 0) this.#fail(t.offset, "missing value for parenthesized pipeline");
        const cmds = this.#commands(tokens, k + 1, close, tokens[close].offset);
        const pipe: Pipeline = {
          decl: [],
          assign: false,
          cmds,
          pos: this.#pos(tokens[k + 1].offset, tokens[close].offset),
        };
        const [names, next] = this.#chain(tokens, close + 1, to);
        return [{ kind: "pipe", pipe, names, pos: posOf(next) }, next];
      }
      default:
        this.#fail(t.offset, `unexpected ${JSON.stringify(t.text)} in operand`);
    }
  }
}

/**
 * Parses a Go template. Throws {@linkcode InvalidArgError} with Go's message shape
 * (`template: NAME:LINE:COL: …`) on a syntax error or an unknown function.
 */
export function parseTemplate(text: string, options: TemplateOptions = {}): ParsedTemplate {
  const name = options.name ?? "format";
  const fail = (offset: number, why: string): never => {
    throw new TemplateError(
      `template: ${name}:${lineCol(text, offset, options.columnShift)}: ${why}`,
    );
  };
  return { name, text, nodes: new Parser(text, fail).parse(), columnShift: options.columnShift };
}
