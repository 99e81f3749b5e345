dnl SPDX-License-Identifier: Apache-2.0
dnl awsgate.m4: autoconf helpers of awsgate's own.

dnl AWSGATE_CHECK_CFLAG(FLAG, [ACTION-IF-OK], [ACTION-IF-NOT])
dnl Compiles an empty program with FLAG (and -Werror, so that a compiler
dnl that merely warns about an unknown flag counts as not supporting it).
AC_DEFUN([AWSGATE_CHECK_CFLAG], [
  AS_VAR_PUSHDEF([cache], [awsgate_cv_cflag_$1])
  AC_CACHE_CHECK([whether $CC accepts $1], [cache], [
    awsgate_save_CFLAGS=$CFLAGS
    CFLAGS="$CFLAGS -Werror $1"
    AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])],
      [AS_VAR_SET([cache], [yes])], [AS_VAR_SET([cache], [no])])
    CFLAGS=$awsgate_save_CFLAGS])
  AS_VAR_IF([cache], [yes], [$2], [$3])
  AS_VAR_POPDEF([cache])])
