# Sourced by the install scripts: installing Debian packages the project's own way.

# Stops with the command to run when this is not root (apt-get needs it): what, npm script, package.
require_root_to_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "Installing $1 needs root: run 'sudo npm run $2' (or apt-get install $3)." >&2
    exit 1
  fi
}

# apt-get install, quietly, without recommended packages, with the package lists refreshed once first.
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "${APT_LISTS_REFRESHED:-}" ]; then
    apt-get update -qq
    APT_LISTS_REFRESHED=1
  fi
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
