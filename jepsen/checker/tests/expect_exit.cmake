# Runs CMD (a list) and fails unless it exits with EXPECT. With OUT, also requires that
# file to be a verdict whose "valid" field matches VALID (checked textually).
# Usage: cmake -DCMD=prog;arg;... -DEXPECT=N [-DOUT=file -DVALID=text] -P expect_exit.cmake
if(OUT)
  file(REMOVE "${OUT}")
endif()
execute_process(COMMAND ${CMD} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc STREQUAL "${EXPECT}")
  message(FATAL_ERROR "exit status ${rc}, expected ${EXPECT}\nstdout:\n${out}\nstderr:\n${err}")
endif()
if(OUT)
  file(READ "${OUT}" verdict)
  string(FIND "${verdict}" "\"valid\": ${VALID}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${OUT} lacks \"valid\": ${VALID}:\n${verdict}")
  endif()
endif()
