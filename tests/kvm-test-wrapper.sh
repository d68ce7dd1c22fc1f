#!/bin/sh
# Runs a test that needs /dev/kvm. Without a usable /dev/kvm the test FAILS
# with a clear message, unless the run asked to skip such tests with
# HVKIT_SKIP_KVM_TESTS=1: then it exits 77, which ctest reports as skipped.
if [ "${HVKIT_SKIP_KVM_TESTS:-0}" = 1 ]; then
  echo "SKIPPED: HVKIT_SKIP_KVM_TESTS=1 (this test needs /dev/kvm)"
  exit 77
fi
if [ ! -e /dev/kvm ]; then
  echo "FAIL: this test needs /dev/kvm and it does not exist; set HVKIT_SKIP_KVM_TESTS=1 to skip KVM tests explicitly" >&2
  exit 1
fi
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
  echo "FAIL: /dev/kvm is not readable and writable by $(id -un); set HVKIT_SKIP_KVM_TESTS=1 to skip KVM tests explicitly" >&2
  exit 1
fi
exec "$@"
