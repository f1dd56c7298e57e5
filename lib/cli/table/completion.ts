/**
 * Shell completion scripts generated from the command table: bash (a `complete -F` function fed
 * by associative arrays: each command path's subcommands, flags, flags that take a value, and
 * what its positional arguments complete to), zsh (the bash script through `bashcompinit`), and
 * fish (`complete -c` lines). Container and image names come from the store at completion time,
 * through the hidden `denopod __complete containers|images`, with the `--root`/`--runroot` typed
 * on the command line.
 * @module
 */
import { type CommandSpec, type Completer, type FlagSpec, GLOBAL_FLAGS } from "./spec.ts";
import { PROGRAM } from "./parse.ts";

/** The shells `completion` writes scripts for. */
export const SHELLS = ["bash", "zsh", "fish"] as const;

/** One of {@linkcode SHELLS}. */
export type Shell = typeof SHELLS[number];

interface PathEntry {
  key: string;
  spec: CommandSpec;
}

/** Every visible command path (`""`, `ps`, `image ls`, aliases included) with its spec. */
function paths(root: CommandSpec): PathEntry[] {
  const out: PathEntry[] = [];
  const walk = (spec: CommandSpec, key: string) => {
    out.push({ key, spec });
    for (const sub of spec.subcommands ?? []) {
      if (sub.hidden) continue;
      for (const name of [sub.name, ...(sub.aliases ?? [])]) {
        walk(sub, key === "" ? name : `${key} ${name}`);
      }
    }
  };
  walk(root, "");
  return out;
}

function flagWords(flags: readonly FlagSpec[]): string[] {
  return flags.filter((f) => !f.hidden).flatMap((f) => [
    `--${f.name}`,
    ...(f.short ? [`-${f.short}`] : []),
  ]);
}

function completerWord(completer: Completer | undefined): string {
  if (completer === undefined) return "-";
  if (typeof completer === "string") return completer;
  return `list:${completer.join(",")}`;
}

function quote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/** The bash completion script (also the body of the zsh one). */
export function bashCompletion(root: CommandSpec): string {
  const subs: string[] = [];
  const flags: string[] = [];
  const valued: string[] = [];
  const args: string[] = [];
  const flagValues: string[] = [];
  for (const { key, spec } of paths(root)) {
    const k = quote(`@${key}`);
    const visible = (spec.subcommands ?? []).filter((s) => !s.hidden);
    subs.push(`[${k}]=${quote(visible.flatMap((s) => [s.name, ...(s.aliases ?? [])]).join(" "))}`);
    const all = [...(spec.flags ?? []), ...GLOBAL_FLAGS];
    flags.push(`[${k}]=${quote(flagWords(key === "" ? GLOBAL_FLAGS : all).join(" "))}`);
    const takesValue = all.filter((f) => f.type !== "bool");
    valued.push(`[${k}]=${quote(` ${flagWords(takesValue).join(" ")} `)}`);
    const argWords = (spec.args ?? []).map((a) => completerWord(a.complete));
    if (!spec.args?.at(-1)?.variadic) argWords.push("-");
    args.push(`[${k}]=${quote(argWords.join(" "))}`);
    for (const flag of spec.flags ?? []) {
      if (flag.complete === undefined || flag.type === "bool") continue;
      for (const word of flagWords([flag])) {
        flagValues.push(`[${quote(`@${key}|${word}`)}]=${quote(completerWord(flag.complete))}`);
      }
    }
  }
  for (const flag of GLOBAL_FLAGS) {
    if (flag.complete === undefined) continue;
    flagValues.push(`[${quote(`*|--${flag.name}`)}]=${quote(completerWord(flag.complete))}`);
  }
  return `# bash completion for ${PROGRAM}; load with: source <(${PROGRAM} completion bash)
declare -gA __${PROGRAM}_subs=(${subs.join(" ")})
declare -gA __${PROGRAM}_flags=(${flags.join(" ")})
declare -gA __${PROGRAM}_valued=(${valued.join(" ")})
declare -gA __${PROGRAM}_args=(${args.join(" ")})
declare -gA __${PROGRAM}_flagvals=(${flagValues.join(" ")})

__${PROGRAM}_words() {
  # $1: a completer word; prints the candidates
  case "$1" in
    containers|images) "\${__${PROGRAM}_cmd[@]}" __complete "$1" 2>/dev/null ;;
    list:*) local l="\${1#list:}"; printf '%s\\n' \${l//,/ } ;;
  esac
}

__${PROGRAM}_reply() {
  # COMPREPLY from stdin, one candidate a line (zsh's bashcompinit has no mapfile)
  local line
  COMPREPLY=()
  while IFS= read -r line; do COMPREPLY+=("$line"); done
}

# (the command path is "cmdpath": zsh ties "path" to PATH)
_${PROGRAM}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" cmdpath="" w i npos=0 skip=0
  __${PROGRAM}_cmd=("\${COMP_WORDS[0]}")
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    if ((skip)); then
      skip=0
      case "$prev" in --root|--runroot) __${PROGRAM}_cmd+=("$prev" "$w") ;; esac
      continue
    fi
    case "$w" in
      --root=*|--runroot=*) __${PROGRAM}_cmd+=("$w") ;;
      -*=*) ;;
      -*) if [[ "\${__${PROGRAM}_valued[@$cmdpath]}" == *" $w "* ]]; then skip=1; prev="$w"; fi ;;
      *)
        if ((npos == 0)) && [[ " \${__${PROGRAM}_subs[@$cmdpath]} " == *" $w "* ]]; then
          cmdpath="\${cmdpath:+$cmdpath }$w"
        else
          npos=$((npos + 1))
        fi
        ;;
    esac
  done
  COMPREPLY=()
  if ((skip)); then
    local what="\${__${PROGRAM}_flagvals[@$cmdpath|$prev]:-\${__${PROGRAM}_flagvals[*|$prev]}}"
    if [[ "$what" == files ]]; then
      __${PROGRAM}_reply < <(compgen -f -- "$cur")
    elif [[ -n "$what" ]]; then
      __${PROGRAM}_reply < <(compgen -W "$(__${PROGRAM}_words "$what")" -- "$cur")
    fi
    return 0
  fi
  if [[ "$cur" == -* ]]; then
    __${PROGRAM}_reply < <(compgen -W "\${__${PROGRAM}_flags[@$cmdpath]}" -- "$cur")
    return 0
  fi
  if ((npos == 0)) && [[ -n "\${__${PROGRAM}_subs[@$cmdpath]}" ]]; then
    __${PROGRAM}_reply < <(compgen -W "\${__${PROGRAM}_subs[@$cmdpath]}" -- "$cur")
    return 0
  fi
  local -a kinds=(\${__${PROGRAM}_args[@$cmdpath]})
  local kind="-"
  if ((\${#kinds[@]} > 0)); then
    if ((npos < \${#kinds[@]})); then kind="\${kinds[npos]}"; else kind="\${kinds[-1]}"; fi
    # the last word repeats: a variadic argument's completer, else "-"
  fi
  case "$kind" in
    -) ;;
    files) __${PROGRAM}_reply < <(compgen -f -- "$cur") ;;
    *) __${PROGRAM}_reply < <(compgen -W "$(__${PROGRAM}_words "$kind")" -- "$cur") ;;
  esac
  return 0
}

complete -o default -F _${PROGRAM} ${PROGRAM}
`;
}

/** The zsh completion script: the bash one, through zsh's bashcompinit. */
export function zshCompletion(root: CommandSpec): string {
  return `#compdef ${PROGRAM}
# zsh completion for ${PROGRAM}; load with: source <(${PROGRAM} completion zsh)
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(root)}`;
}

/** The fish completion script. */
export function fishCompletion(root: CommandSpec): string {
  const lines = [
    `# fish completion for ${PROGRAM}; load with: ${PROGRAM} completion fish | source`,
    `complete -c ${PROGRAM} -f`,
  ];
  const dynamic = (completer: Completer | undefined): string => {
    if (completer === undefined) return "";
    if (completer === "files") return " -F";
    if (typeof completer === "string") {
      return ` -a '(${PROGRAM} (__fish_${PROGRAM}_globals) __complete ${completer} 2>/dev/null)'`;
    }
    return ` -a ${quote(completer.join(" "))}`;
  };
  lines.push(
    `function __fish_${PROGRAM}_globals`,
    `  set -l words (commandline -opc)`,
    `  for i in (seq (count $words))`,
    `    switch $words[$i]`,
    `      case --root --runroot`,
    `        echo $words[$i]; echo $words[(math $i + 1)]`,
    `    end`,
    `  end`,
    `end`,
  );
  const flagLine = (condition: string, flag: FlagSpec) =>
    `complete -c ${PROGRAM} -n ${quote(condition)} -l ${flag.name}` +
    (flag.short ? ` -s ${flag.short}` : "") + (flag.type === "bool" ? "" : " -r") +
    dynamic(flag.complete) + ` -d ${quote(flag.help.split("\n")[0])}`;
  for (const flag of GLOBAL_FLAGS) lines.push(flagLine("true", flag));
  for (const { key, spec } of paths(root)) {
    const words = key.split(" ").filter(Boolean);
    const seen = words.length === 0
      ? "__fish_use_subcommand"
      : words.map((w) => `__fish_seen_subcommand_from ${w}`).join("; and ");
    for (const sub of (spec.subcommands ?? []).filter((s) => !s.hidden)) {
      const subNames = (sub.subcommands ?? []).map((s) => s.name).join(" ");
      const notYet = subNames === "" ? "" : `; and not __fish_seen_subcommand_from ${subNames}`;
      lines.push(
        `complete -c ${PROGRAM} -n ${quote(seen + notYet)} -a ${sub.name} -d ${quote(sub.short)}`,
      );
    }
    if (words.length === 0) continue;
    for (const flag of (spec.flags ?? []).filter((f) => !f.hidden)) {
      lines.push(flagLine(seen, flag));
    }
    const firstArg = spec.args?.[0]?.complete;
    if (firstArg !== undefined) {
      lines.push(`complete -c ${PROGRAM} -n ${quote(seen)}${dynamic(firstArg)}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/** The completion script for `shell`. */
export function completionScript(root: CommandSpec, shell: Shell): string {
  switch (shell) {
    case "bash":
      return bashCompletion(root);
    case "zsh":
      return zshCompletion(root);
    case "fish":
      return fishCompletion(root);
  }
}
