# Shared setup for fb's bats suites: `load helpers` at the top of each file.

FB_ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
# The build whose tools are tested: build/, or e.g. build-asan/ (make test-asan).
FB_BUILD="${FB_BUILD:-$FB_ROOT/build}"
PATH="$FB_BUILD/bin:$PATH"
export FB_ROOT FB_BUILD PATH
# The real photo sets and reference tensors live beside the checkout.
FB_SHARED="${FB_SHARED:-$FB_ROOT/../shared}"
FB_SHARED_DATA="${FB_SHARED_DATA:-$FB_SHARED/data}"
export FB_SHARED FB_SHARED_DATA
# Tests never depend on the user's colour or terminal settings.
unset NO_COLOR

# Skip the current test unless ../shared/data/<set> exists.
shared_data_or_skip() {
    [ -d "$FB_SHARED_DATA/${1:-}" ] ||
        skip "no shared photo set at $FB_SHARED_DATA/${1:-} (a fresh clone has none)"
}

# Skip unless the ResNet50 weights were built (`make weights`).
weights_or_skip() {
    [ -f "${FB_WEIGHTS:-$FB_BUILD/share/fb/resnet50.fbw}" ] ||
        skip "no ResNet50 weights; run 'make weights'"
}

# Fixture makers built from tests/tools/*.c
PATH="$FB_BUILD/tests/tools:$PATH"

# AddressSanitizer reserves terabytes of address space for its shadow memory,
# so a test that caps the address space (ulimit -v) to show a tool does not
# allocate what a damaged header claims cannot run on a sanitized build
# (make test-asan sets ASAN_OPTIONS); there ASan itself checks the memory.
skip_if_sanitized() {
    [ -z "${ASAN_OPTIONS:-}" ] || skip "ulimit -v cannot be combined with AddressSanitizer"
}
