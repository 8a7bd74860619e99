#!/usr/bin/env bats
# Hostile input: files made to reach a reader's weak spot (issue 17).  Each
# test is the smallest reproducer of one fault; every one is refused with a
# named message, never a crash, a hang, or a silently wrong result.

load helpers

setup() { cd "$BATS_TEST_TMPDIR"; }

@test "a weights file that is a pipe is refused by name, not read past its buffer" {
    # header + payload size wraps to 0: a pipe has no size to check it against
    hostile-make weights-wrap > wrap.fbw
    run bash -c 'cat wrap.fbw | fb-weights check /dev/stdin'
    [ "$status" -eq 1 ]
    [[ "$output" == *"/dev/stdin: not a regular file"* ]]
    # the same bytes in a regular file: the size does not match the header
    run fb-weights check wrap.fbw
    [ "$status" -eq 1 ]
    [[ "$output" == *"wrap.fbw: size is 64 bytes, the header says 64 + 18446744073709551552"* ]]
}

@test "a head.bin whose header asks for 2^40 parameters is damaged, not out of memory" {
    hostile-make head-wide > head.bin
    fbt-make -d 4 -n 3 -C a,b > s.fbt
    run bash -c 'ulimit -v 4000000; fb-predict head.bin < s.fbt'
    [ "$status" -eq 1 ]
    [[ "$output" == *"head.bin: head file damaged: parameter count does not match"* ]]
}
