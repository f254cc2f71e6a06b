# The Node-API addon, built when cmake-js drives CMakeLists.txt
# (`npm run build:cmake-js`). Same sources and flags as binding.gyp: the core
# list MP_CORE_SOURCES plus every .c file of native/napi. cmake-js finds the
# Node-API headers offline because package.json declares "napi_versions".
file(GLOB MP_NAPI_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/native/napi/*.c)
add_library(memory_pool_core_addon SHARED ${MP_CORE_SOURCES} ${MP_NAPI_SOURCES} ${CMAKE_JS_SRC})
set_target_properties(memory_pool_core_addon PROPERTIES
  OUTPUT_NAME memory_pool_core PREFIX "" SUFFIX ".node"
  C_VISIBILITY_PRESET hidden POSITION_INDEPENDENT_CODE ON)
target_include_directories(memory_pool_core_addon PRIVATE ${CMAKE_JS_INC}
  ${CMAKE_CURRENT_SOURCE_DIR}/include ${CMAKE_CURRENT_SOURCE_DIR}/native/core)
target_compile_definitions(memory_pool_core_addon PRIVATE NAPI_VERSION=8)
target_compile_options(memory_pool_core_addon PRIVATE ${MP_WARNING_FLAGS}
  $<$<C_COMPILER_ID:GNU,Clang,AppleClang>:-O3>)
target_link_libraries(memory_pool_core_addon PRIVATE ${CMAKE_JS_LIB} Threads::Threads)
if(MSVC AND CMAKE_JS_NODELIB_DEF AND CMAKE_JS_NODELIB_TARGET)
  # Windows: generate node.lib from the definition file cmake-js provides.
  execute_process(COMMAND ${CMAKE_AR} /def:${CMAKE_JS_NODELIB_DEF}
    /out:${CMAKE_JS_NODELIB_TARGET} ${CMAKE_STATIC_LINKER_FLAGS})
endif()
