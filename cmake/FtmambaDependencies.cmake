# Finds ftmamba's dependencies: LibTorch (CPU from Debian, or any CUDA LibTorch on
# CMAKE_PREFIX_PATH), toml++, nlohmann-json, fmt (header-only: no ABI clash with a bundled fmt), CLI11, OpenMP, OpenSSL's
# libcrypto (SHA-256 of a fine-tuned run's base model), zlib (gzip data files), Howard Hinnant's date (header-only:
# timestamps in data files), cpp-httplib (`ftmamba serve`), FAISS (the approximate item index of `ftmamba index`;
# a static library with its own BLAS and OpenMP), and optionally CUDA.
find_package(Torch REQUIRED)
find_package(tomlplusplus QUIET)
if(NOT tomlplusplus_FOUND)
  # Distributions without a toml++ package: use its headers alone (header-only mode), found on
  # CMAKE_PREFIX_PATH/include or the system include path.
  find_path(FTMAMBA_TOMLPP_INCLUDE toml++/toml.h REQUIRED)
  add_library(tomlplusplus::tomlplusplus INTERFACE IMPORTED)
  set_target_properties(tomlplusplus::tomlplusplus PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES ${FTMAMBA_TOMLPP_INCLUDE} INTERFACE_COMPILE_DEFINITIONS TOML_HEADER_ONLY=1)
  message(STATUS "ftmamba: toml++ header-only from ${FTMAMBA_TOMLPP_INCLUDE}")
endif()
find_package(nlohmann_json REQUIRED)
find_package(fmt REQUIRED)
find_package(CLI11 REQUIRED)
find_package(OpenMP REQUIRED)
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
find_package(ZLIB REQUIRED)
find_package(faiss CONFIG REQUIRED)
find_package(date CONFIG QUIET)
if(NOT TARGET date::date)
  # Without the package's CMake files: date.h alone, in the C locale only (no iostream locale facets).
  find_path(FTMAMBA_DATE_INCLUDE date/date.h REQUIRED)
  add_library(date::date INTERFACE IMPORTED)
  set_target_properties(date::date PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES ${FTMAMBA_DATE_INCLUDE} INTERFACE_COMPILE_DEFINITIONS "ONLY_C_LOCALE=1;HAS_STRING_VIEW=1")
  message(STATUS "ftmamba: date header-only from ${FTMAMBA_DATE_INCLUDE}")
endif()
# cpp-httplib (Debian's libcpp-httplib-dev: a shared library, found through its pkg-config file, whose flags say which
# of TLS, zlib and brotli it was built with; the header must be read with the same ones).
find_package(PkgConfig REQUIRED)
pkg_check_modules(FTMAMBA_HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
find_package(Threads REQUIRED)
# The language model's tokenizer: Oniguruma (Debian's libonig-dev), the regular-expression engine Hugging Face
# tokenizers runs its pre-tokenizer patterns on, and ICU (libicu-dev) for Unicode normalization and properties.
pkg_check_modules(FTMAMBA_ONIG REQUIRED IMPORTED_TARGET oniguruma)
find_package(ICU REQUIRED COMPONENTS uc)

# CUDA kernels are built only when LibTorch itself has CUDA and nvcc is available. When nvcc is there but
# LibTorch is CPU-only (the CI and development machines), the .cu files are still compiled, on their own,
# as a check that they build: they hold raw-pointer kernels only and need neither ATen nor a GPU.
set(FTMAMBA_WITH_CUDA OFF)
set(FTMAMBA_CUDA_COMPILE_CHECK OFF)
if(NOT FTMAMBA_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  set(_torch_has_cuda OFF)
  if(TARGET torch_cuda OR TORCH_CUDA_LIBRARIES)
    set(_torch_has_cuda ON)
  endif()
  if(CMAKE_CUDA_COMPILER AND _torch_has_cuda)
    set(FTMAMBA_WITH_CUDA ON)
  elseif(FTMAMBA_CUDA STREQUAL "ON")
    message(FATAL_ERROR "FTMAMBA_CUDA=ON but a CUDA LibTorch and nvcc were not both found")
  elseif(CMAKE_CUDA_COMPILER)
    set(FTMAMBA_CUDA_COMPILE_CHECK ON)
  endif()
  if(CMAKE_CUDA_COMPILER)
    # Hopper first (sm_90a), Ampere as the fallback; override with -DCMAKE_CUDA_ARCHITECTURES=...
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES "90a;80")
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
  endif()
endif()
message(STATUS "ftmamba: LibTorch ${Torch_VERSION}, CUDA kernels: ${FTMAMBA_WITH_CUDA}, "
               "CUDA compile-only check: ${FTMAMBA_CUDA_COMPILE_CHECK}")
