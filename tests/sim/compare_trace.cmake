# Runs `SIM --seed SEED --trace` twice and fails unless both outputs are byte-identical.
# Separate processes on purpose: that also catches output that depends on addresses,
# hash-table order or anything else that differs between two executions.
# Usage: cmake -DSIM=<kv_sim> -DSEED=<n> -DOUT=<dir> -P compare_trace.cmake
file(MAKE_DIRECTORY "${OUT}")
foreach(run 1 2)
  execute_process(COMMAND "${SIM}" --seed "${SEED}" --trace
                  OUTPUT_FILE "${OUT}/trace${run}.txt" RESULT_VARIABLE rc${run})
endforeach()
if(NOT rc1 EQUAL rc2)
  message(FATAL_ERROR "sim: seed ${SEED} exited ${rc1} then ${rc2}")
endif()
file(SHA256 "${OUT}/trace1.txt" first)
file(SHA256 "${OUT}/trace2.txt" second)
file(SIZE "${OUT}/trace1.txt" bytes)
if(NOT first STREQUAL second)
  message(FATAL_ERROR "sim: two traces of seed ${SEED} differ; diff ${OUT}/trace1.txt ${OUT}/trace2.txt")
endif()
if(bytes LESS 1000)
  message(FATAL_ERROR "sim: the trace of seed ${SEED} is suspiciously short (${bytes} bytes)")
endif()
message(STATUS "sim: seed ${SEED} trace replayed byte-identical (${bytes} bytes, exit ${rc1})")
