#ifndef MONITORD_CCRYPT_SHIM_H
#define MONITORD_CCRYPT_SHIM_H
// libxcrypt (Debian's libcrypt-dev; libcrypt1 is Essential, so every host has it): crypt_r checks
// the bcrypt hashes of the web config file's basic_auth_users.
#include <crypt.h>
#endif
