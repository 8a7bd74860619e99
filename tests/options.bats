#!/usr/bin/env bats
# Every numeric option of every tool has a documented range (OPTIONS of its
# man page) that the checked parser enforces: negative, zero, NaN, infinite,
# fractional, huge values and trailing junk are usage errors (exit 2) that
# name the option.  The table below lists every numeric option; the last test
# checks that it does (against the options each man page documents).

load helpers

setup_file() {
    cd "$BATS_FILE_TMPDIR"
    synth-features -n 60 -d 16 -k 2 -s 3 -C a,b > in.fbt
    fb-train -q --no-reject -o head.bin < in.fbt
}

setup() {
    F="$BATS_FILE_TMPDIR"
    cd "$BATS_TEST_TMPDIR"
}

# TOOL OPTION KIND [ARGS...]: KIND says which values must be refused:
#   count  a whole number from 1     pos0  a whole number from 0
#   frac   a number from 0 to 1      posr  a number above 0
#   nonneg a number from 0           seed  a whole number from 0 to 2^64-1
#   size   WIDTHxHEIGHT
# ARGS complete a command that would otherwise run (the value is put first).
TABLE='
fb-audit  --near-dup     pos0   -l /dev/null
fb-audit  --cosine       frac   -l /dev/null
fb-audit  --seed         seed   -l /dev/null
fb-audit  --jobs         count  -l /dev/null
fb-audit  --timeout      posr   -l /dev/null
fb-audit  --max-pixels   posr   -l /dev/null
fb-eval   --mistakes     pos0   HEAD
fb-eval   --reject-rate  frac   HEAD
fb-export --compress     pos0   --from-npy x.npy
fb-feat   --top          count
fb-feat   --threads      count
fb-feat   --batch        count
fb-plot   --size         size   -o x.png
fb-predict --threshold   frac   HEAD
fb-predict --reject-rate frac   HEAD
fb-prep   --size         count
fb-prep   --jobs         count
fb-prep   --max-pixels   posr
fb-prep   --timeout      posr
fb-prep   --augment      pos0
fb-prep   --seed         seed
fb-report --mistakes     pos0   -o x.html HEAD
fb-report --unsure       pos0   -o x.html HEAD
fb-report --per-cell     pos0   -o x.html HEAD
fb-report --jobs         count  -o x.html HEAD
fb-split  --near-dup     pos0   -o out d
fb-split  --seed         seed   -o out d
fb-split  --ratio        ratio  -o out d
fb-split  --cosine       frac   -o out d
fb-split  --jobs         count  -o out d
fb-split  --timeout      posr   -o out d
fb-split  --max-pixels   posr   -o out d
fb-train  --dropout      frac   -o x.bin
fb-train  --C            posr   -o x.bin
fb-train  --cv-folds     count  -o x.bin
fb-train  --lr           posr   -o x.bin
fb-train  --momentum     frac   -o x.bin --head 8 --optimizer sgd
fb-train  --batch        count  -o x.bin
fb-train  --epochs       count  -o x.bin
fb-train  --weight-decay nonneg -o x.bin
fb-train  --patience     pos0   -o x.bin
fb-train  --seed         seed   -o x.bin
fb-train  --max-memory   count  -o x.bin
fb-train  --reject-subject pos0 -o x.bin
fb-train  --stage-lr     posr   -o x.bin
fb-train  --threads      count  -o x.bin
fb-train  --folds        count
fb-train  --reject-rate  frac   -o x.bin
fb-train  --head         widths -o x.bin
fb-train  --class-weight weights -o x.bin
'

# Values every numeric option refuses, and those of each kind.
COMMON=(nan inf -inf 1e400 '' ' 1' 5junk 0x10 99999999999999999999999)
bad_values() {
    case "$1" in
    count)  printf '%s\n' -1 0 1.5 2.0 1e10 -5 ;;
    pos0)   printf '%s\n' -1 1.5 1e10 -5 abc ;;
    frac)   printf '%s\n' -0.1 -1 1.5 2 abc ;;
    posr)   printf '%s\n' 0 -1 -0.001 1e300 abc ;;
    nonneg) printf '%s\n' -1 -0.001 1e300 abc ;;
    seed)   printf '%s\n' -1 1.5 18446744073709551616 abc ;;
    size)   printf '%s\n' 300x200junk 300 x200 300x 0x200 -300x200 300x-200 1.5x200 300x200.5 \
                          99999x200 300x99999 300X200X1 ;;
    ratio)  printf '%s\n' 70:15 70:15:15:1 -70:15:15 0:50:50 nan:1:1 inf:1:1 70:15:15junk 1e400:1:1 ;;
    widths) printf '%s\n' -8 8, ,8 8.5 8,0 99999999 8junk ;;
    weights) printf '%s\n' a=-1 a=nan a=inf a=1e400 a=2junk a= =2 ;;
    esac
    case "$1" in size|ratio|widths|weights) ;; *) printf '%s\n' "${COMMON[@]}" ;; esac
}

# Runs every refused value of every row; prints each one that was not a
# clean usage error (exit 2 with the option named on stderr).
check_table() {
    mkdir -p d/a && printf 'x\n' > d/a/1.jpg
    local tool opt kind args v failures=0
    while read -r tool opt kind args; do
        [ -n "$tool" ] || continue
        args=${args//HEAD/$F/head.bin}
        while IFS= read -r v; do
            # shellcheck disable=SC2086
            "$tool" "$opt" "$v" $args < "$F/in.fbt" > out.txt 2> err.txt
            local st=$?
            if [ "$st" -ne 2 ] || ! grep -q -- "$opt" err.txt; then
                echo "$tool $opt '$v' $args: exit $st: $(head -c 300 err.txt)"
                failures=$((failures + 1))
            fi
        done < <(bad_values "$kind")
    done <<< "$TABLE"
    return "$failures"
}

@test "every numeric option refuses NaN, Inf, negative, zero, fractional, huge values and junk: exit 2, option named" {
    run check_table
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "the table lists every numeric option of every tool, and each man page documents it" {
    local missing=0 f tool opt
    for f in "$FB_ROOT"/cmd/fb-*.c; do
        tool=$(basename "$f" .c)
        # every option read by the checked parser names itself as the user spells it
        while read -r opt; do
            grep -qE "^$tool +$opt " <<< "$TABLE" || { echo "$tool $opt is not in the table"; missing=1; }
        done < <(grep -oE 'fb_opt_(long|double|seed|size|pixels|jobs|timeout)\("[^"]+"' "$f" | cut -d'"' -f2 | sort -u)
    done
    while read -r tool opt _; do
        [ -n "$tool" ] || continue
        tr -d '\\' < "$FB_ROOT/man/$tool.1" | grep -qF -- "$opt" ||
            { echo "man/$tool.1 does not document $opt"; missing=1; }
    done <<< "$TABLE"
    [ "$missing" -eq 0 ]
}

@test "fb-eval --mistakes: no atoi anywhere in the tools (atoi takes -5 and abc without a word)" {
    ! grep -nE '\bato(i|l|ll|f)\(' "$FB_ROOT"/cmd/*.c "$FB_ROOT"/cmd/common/*.c
}

@test "--folds larger than the records is refused with the count" {
    # 60 records, 30 a class: every fold needs one of each class
    run fb-train --folds 100 < "$F/in.fbt"
    echo "$output"
    [ "$status" -eq 2 ]
    [[ "$output" == *"--folds"* ]]
    [[ "$output" == *"only 30 records"* ]]
}

@test "-j 99999 is refused, not clamped without a word (documented)" {
    for t in "fb-prep --jobs" "fb-feat --threads" "fb-train --threads" "fb-report --jobs" \
             "fb-audit --jobs" "fb-split --jobs"; do
        run $t 99999 < /dev/null
        echo "$t: $output"
        [ "$status" -eq 2 ]
        [[ "$output" == *"from 1 to "* ]]
    done
}

@test "--timeout 0 is a usage error, not 'decoder hung' for every file" {
    for t in fb-prep fb-audit fb-split; do
        run $t --timeout 0 < /dev/null
        [ "$status" -eq 2 ]
        [[ "$output" == *"--timeout"* ]]
    done
}

@test "a value in range still works: fb-eval --mistakes 0 and 2, fb-plot --size 300x200" {
    run fb-eval --mistakes 2 "$F/head.bin" < "$F/in.fbt"
    [ "$status" -eq 0 ]
    run fb-eval --mistakes 0 "$F/head.bin" < "$F/in.fbt"
    [ "$status" -eq 0 ]
}

TOOLS="fb-audit fb-eval fb-export fb-feat fb-info fb-plot fb-predict fb-prep fb-report fb-split fb-train fb-weights"

@test "every man page's EXIT STATUS gives 0, 1, 2 and the interrupted statuses alike" {
    local t bad=0
    for t in $TOOLS; do
        sec=$(sed -n '/^\.SH EXIT STATUS/,/^\.SH /p' "$FB_ROOT/man/$t.1")
        [ -n "$sec" ] || { echo "$t: no EXIT STATUS"; bad=1; continue; }
        for want in '.B 0' '.B 1' '.B 2' '.B 130, 143, 129' 'Every fb tool uses the same statuses'; do
            grep -qF -- "$want" <<< "$sec" || { echo "$t: EXIT STATUS lacks '$want'"; bad=1; }
        done
    done
    [ "$bad" -eq 0 ]
}

@test "every tool: an unknown option is status 2" {
    local t
    for t in $TOOLS; do
        run "$t" --no-such-option < /dev/null
        [ "$status" -eq 2 ] || { echo "$t: status $status"; return 1; }
    done
}

# Every tool that reads standard input, stopped while it waits for it:
# SIGINT is status 130 with "interrupted", SIGTERM 143 with "terminated".
@test "every tool reading stdin: SIGINT is 130, SIGTERM 143, each with a message" {
    local cmd sig want pid st i feat=
    # fb-feat loads its weights first: with none it stops before reading
    [ -f "${FB_WEIGHTS:-$FB_BUILD/share/fb/resnet50.fbw}" ] && feat="fb-feat"
    for sig in INT TERM; do
        [ $sig = INT ] && want="130 interrupted" || want="143 terminated"
        while IFS= read -r cmd; do
            [ -n "$cmd" ] || continue
            set -m
            # SIGINT as from a terminal, even when this suite runs in a background
            # job that ignores it (a tool keeps a signal ignored on entry)
            env --default-signal=INT $cmd < <(sleep 20) > /dev/null 2> err &
            pid=$!
            # once it waits on the pipe it is past start-up (and any re-exec)
            for i in $(seq 1 400); do
                grep -q pipe "/proc/$pid/wchan" 2>/dev/null && break
                sleep 0.05
            done
            kill -s $sig $pid
            st=0; wait $pid || st=$?
            set +m
            [ "$st ${want#* }" = "$want" ] && grep -q "${want#* }" err ||
                { echo "$cmd on SIG$sig: status $st: $(cat err)"; return 1; }
        done <<< "
fb-train -o x.bin
fb-eval $F/head.bin
fb-predict $F/head.bin
fb-info
fb-export --tsv x.tsv
fb-plot -o x.png
fb-prep -o x.fbt
fb-report -o x.html $F/head.bin
$feat"
    done
    ! ls -A | grep -q '\.tmp'
}
