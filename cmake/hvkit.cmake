# Helpers every part of the tree uses to declare tests, KVM tests, fuzzers and
# benchmarks the same way.

set(HVKIT_TEST_WRAPPER ${CMAKE_CURRENT_LIST_DIR}/../tests/kvm-test-wrapper.sh)

# hvkit_add_unit_test(NAME name SOURCES ... [LIBS ...] [ARGS ...])
# A cmocka (or plain) C test program run by ctest, label "unit".
function(hvkit_add_unit_test)
  cmake_parse_arguments(T "" "NAME" "SOURCES;LIBS;ARGS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS})
  add_test(NAME ${T_NAME} COMMAND ${T_NAME} ${T_ARGS})
  set_tests_properties(${T_NAME} PROPERTIES LABELS unit)
endfunction()

# hvkit_add_kvm_test(NAME name COMMAND cmd args... [TIMEOUT s])
# A test that needs /dev/kvm. It fails loudly when /dev/kvm is unusable,
# unless HVKIT_SKIP_KVM_TESTS=1 is set, in which case ctest reports it
# skipped (exit 77), never passed.
function(hvkit_add_kvm_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "COMMAND" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_test(NAME ${T_NAME} COMMAND ${HVKIT_TEST_WRAPPER} ${T_COMMAND})
  set_tests_properties(${T_NAME} PROPERTIES LABELS "kvm;integration"
    SKIP_RETURN_CODE 77 TIMEOUT ${T_TIMEOUT})
endfunction()

# hvkit_add_fuzzer(NAME name SOURCES ... [LIBS ...] [CORPUS dir])
# Builds fuzz_<name> only with HVKIT_FUZZ=ON. ctest runs a short smoke
# (label "fuzz"); the target fuzz-<name> runs it for 10 minutes.
function(hvkit_add_fuzzer)
  cmake_parse_arguments(T "" "NAME;CORPUS" "SOURCES;LIBS" ${ARGN})
  if(NOT HVKIT_FUZZ)
    return()
  endif()
  add_executable(fuzz_${T_NAME} ${T_SOURCES})
  target_link_libraries(fuzz_${T_NAME} PRIVATE ${T_LIBS})
  target_link_options(fuzz_${T_NAME} PRIVATE -fsanitize=fuzzer)
  set(work ${CMAKE_CURRENT_BINARY_DIR}/fuzz-${T_NAME}-corpus)
  set(seed "")
  if(T_CORPUS)
    set(seed ${T_CORPUS})
  endif()
  add_test(NAME fuzz_smoke_${T_NAME}
    COMMAND sh -c "mkdir -p '${work}' && exec \"$0\" -max_total_time=${HVKIT_FUZZ_SMOKE_SECONDS} -timeout=10 '${work}' ${seed}"
            $<TARGET_FILE:fuzz_${T_NAME}>)
  set_tests_properties(fuzz_smoke_${T_NAME} PROPERTIES LABELS fuzz
    TIMEOUT 600)
  add_custom_target(fuzz-${T_NAME}
    COMMAND mkdir -p ${work}
    COMMAND fuzz_${T_NAME} -max_total_time=600 -timeout=10 ${work} ${seed}
    DEPENDS fuzz_${T_NAME} USES_TERMINAL)
endfunction()

# hvkit_add_bench(NAME name COMMAND cmd args... [SMOKE_ARGS ...])
# `make bench` runs every benchmark and prints its figures; ctest runs each
# once with SMOKE_ARGS (default --smoke), label "bench", to prove it works.
function(hvkit_add_bench)
  cmake_parse_arguments(T "" "NAME" "COMMAND;SMOKE_ARGS" ${ARGN})
  if(NOT T_SMOKE_ARGS)
    set(T_SMOKE_ARGS --smoke)
  endif()
  add_custom_target(bench-${T_NAME} COMMAND ${T_COMMAND} USES_TERMINAL)
  add_dependencies(bench bench-${T_NAME})
  add_test(NAME bench_smoke_${T_NAME} COMMAND ${T_COMMAND} ${T_SMOKE_ARGS})
  set_tests_properties(bench_smoke_${T_NAME} PROPERTIES LABELS bench TIMEOUT 600)
endfunction()
