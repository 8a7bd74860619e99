#!/usr/bin/env bats
# The manual: a page for every tool, each opening with examples, each
# rendering without a groff complaint.

load helpers

@test "every tool has a man page, and every page a tool or a format" {
    for t in "$FB_ROOT"/cmd/fb-*.c; do
        name=$(basename "$t" .c)
        [ -f "$FB_ROOT/man/$name.1" ] || { echo "no man/$name.1"; false; }
    done
    for m in "$FB_ROOT"/man/*.1; do
        name=$(basename "$m" .1)
        [ -f "$FB_ROOT/cmd/$name.c" ] || { echo "$m documents no tool"; false; }
    done
    [ -f "$FB_ROOT/man/fb-stream.5" ] && [ -f "$FB_ROOT/man/fb.7" ]
}

@test "tool pages open with examples (after NAME and SYNOPSIS)" {
    for m in "$FB_ROOT"/man/*.1 "$FB_ROOT"/man/*.5; do
        first=$(grep '^\.SH' "$m" | grep -v -e '^\.SH NAME' -e '^\.SH SYNOPSIS' | head -n 1)
        [ "$first" = ".SH EXAMPLES" ] || { echo "$m: first section is $first"; false; }
    done
}

@test "every page renders without groff warnings in an 80-column terminal" {
    command -v man >/dev/null || skip "man is not installed"
    for m in "$FB_ROOT"/man/*.[157]; do
        warnings=$(MANWIDTH=80 man --warnings=w -l "$m" 2>&1 >/dev/null || true)
        [ -z "$warnings" ] || { echo "$m: $warnings"; false; }
    done
}

@test "every tool's --help names the options its man page documents" {
    checked=0
    for t in "$FB_BUILD"/bin/fb-*; do
        name=$(basename "$t")
        help=$("$t" --help)
        # Long options in the man page's OPTIONS section, as groff writes them.
        for opt in $(sed -n '/^\.SH OPTIONS/,/^\.SH /p' "$FB_ROOT/man/$name.1" |
                     grep -oE '\\-\\-[a-z][a-z0-9-]*' | sed 's/\\//g' | grep -vx -e --help -e --version | sort -u); do
            [[ "$help" == *"$opt"* ]] || { echo "$name: man page documents $opt, --help does not"; false; }
            checked=$((checked + 1))
        done
    done
    echo "checked $checked options"
    [ "$checked" -ge 40 ]
}

@test "fb-stream(5) documents every provenance key the tools write" {
    keys=$(grep -rhoE 'fb_prov_set\([^,]+, *"[a-z_0-9]+"' "$FB_ROOT"/cmd "$FB_ROOT"/lib |
           sed -E 's/.*"([a-z_0-9]+)"$/\1/' | sort -u)
    [ -n "$keys" ]
    for k in $keys; do
        grep -qE "^\.B .*\b$k\b" "$FB_ROOT/man/fb-stream.5" ||
            { echo "provenance key '$k' is written but not documented"; false; }
    done
}
