"""Release files of the real distributions a lab host can present.

Each entry is the text those releases ship (only the fields they really have). Pure data, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Files present on the machine running the lab that a lab host must NOT show unless its distro has them.
RELEASE_FILES = (
    "os-release", "redhat-release", "centos-release", "rocky-release", "system-release",
    "SuSE-release", "lsb-release", "debian_version",
)


@dataclass(frozen=True)
class Distro:
    key: str
    id: str
    version_id: str
    name: str
    family: str
    pretty_name: str
    files: dict[str, str] = field(default_factory=dict)  # /etc/<name> -> content

    @property
    def has_os_release(self) -> bool:
        return "os-release" in self.files


def _kv(pairs: list[tuple[str, str]], quote: bool = True) -> str:
    return "".join(f'{k}="{v}"\n' if quote else f"{k}={v}\n" for k, v in pairs)


def _rhel(version: str, codename: str, server: bool) -> Distro:
    major = version.split(".", maxsplit=1)[0]
    label = "Red Hat Enterprise Linux Server" if server else "Red Hat Enterprise Linux"
    release = f"{label} release {version} ({codename})\n"
    files = {"redhat-release": release, "system-release": release}
    if major != "6":
        cpe = f"cpe:/o:redhat:enterprise_linux:{version}:GA:server" if server else \
            f"cpe:/o:redhat:enterprise_linux:{major}::baseos"
        pairs = [("NAME", label), ("VERSION", f"{version} ({codename})"), ("ID", "rhel"),
                 ("ID_LIKE", "fedora")]
        if server:
            pairs += [("VARIANT", "Server"), ("VARIANT_ID", "server")]
        pairs += [("VERSION_ID", version)]
        if not server:
            pairs += [("PLATFORM_ID", f"platform:el{major}")]
        pairs += [("PRETTY_NAME", f"{label} {version} ({codename})"), ("ANSI_COLOR", "0;31"),
                  ("CPE_NAME", cpe), ("HOME_URL", "https://www.redhat.com/"),
                  ("BUG_REPORT_URL", "https://bugzilla.redhat.com/")]
        if not server:
            pairs.insert(-2, ("DOCUMENTATION_URL", f"https://access.redhat.com/documentation/en-us/"
                                                   f"red_hat_enterprise_linux/{major}/"))
        tail = (f'\nREDHAT_BUGZILLA_PRODUCT="Red Hat Enterprise Linux {major}"\n'
                f"REDHAT_BUGZILLA_PRODUCT_VERSION={version}\n"
                'REDHAT_SUPPORT_PRODUCT="Red Hat Enterprise Linux"\n'
                f'REDHAT_SUPPORT_PRODUCT_VERSION="{version}"\n')
        files["os-release"] = _kv(pairs) + tail
    return Distro(f"rhel{version}", "rhel", version, label, "RedHat", f"{label} {version} ({codename})", files)


def _centos(version_id: str, full: str) -> Distro:
    if version_id.startswith("6"):
        release = f"CentOS release {full} (Final)\n"
        return Distro(f"centos{version_id}", "centos", version_id, "CentOS", "RedHat", release.strip(),
                      {"centos-release": release, "redhat-release": release, "system-release": release})
    pretty = "CentOS Linux 7 (Core)" if version_id == "7" else "CentOS Linux 8"
    release = f"CentOS Linux release {full}" + (" (Core)\n" if version_id == "7" else "\n")
    pairs = [("NAME", "CentOS Linux"), ("VERSION", "7 (Core)" if version_id == "7" else "8"),
             ("ID", "centos"), ("ID_LIKE", "rhel fedora"), ("VERSION_ID", version_id)]
    if version_id == "8":
        pairs += [("PLATFORM_ID", "platform:el8")]
    pairs += [("PRETTY_NAME", pretty), ("ANSI_COLOR", "0;31"),
              ("CPE_NAME", f"cpe:/o:centos:centos:{version_id}"), ("HOME_URL", "https://www.centos.org/"),
              ("BUG_REPORT_URL", "https://bugs.centos.org/")]
    files = {"os-release": _kv(pairs), "centos-release": release, "redhat-release": release,
             "system-release": release}
    return Distro(f"centos{version_id}", "centos", version_id, "CentOS Linux", "RedHat", pretty, files)


def _rocky(version: str, codename: str) -> Distro:
    major = version.split(".", maxsplit=1)[0]
    cpe = "cpe:/o:rocky:rocky:8:GA" if major == "8" else f"cpe:/o:rocky:rocky:{major}::baseos"
    pretty = f"Rocky Linux {version} ({codename})"
    pairs = [("NAME", "Rocky Linux"), ("VERSION", f"{version} ({codename})"), ("ID", "rocky"),
             ("ID_LIKE", "rhel centos fedora"), ("VERSION_ID", version), ("PLATFORM_ID", f"platform:el{major}"),
             ("PRETTY_NAME", pretty), ("ANSI_COLOR", "0;32"), ("LOGO", "fedora-logo-icon"), ("CPE_NAME", cpe),
             ("HOME_URL", "https://rockylinux.org/"), ("BUG_REPORT_URL", "https://bugs.rockylinux.org/"),
             ("ROCKY_SUPPORT_PRODUCT", f"Rocky-Linux-{major}"), ("ROCKY_SUPPORT_PRODUCT_VERSION", version),
             ("REDHAT_SUPPORT_PRODUCT", "Rocky Linux"), ("REDHAT_SUPPORT_PRODUCT_VERSION", version)]
    release = f"Rocky Linux release {version} ({codename})\n"
    files = {"os-release": _kv(pairs), "rocky-release": release, "redhat-release": release,
             "system-release": release}
    return Distro(f"rocky{version}", "rocky", version, "Rocky Linux", "RedHat", pretty, files)


def _debian(major: str, point: str, codename: str) -> Distro:
    pretty = f"Debian GNU/Linux {major} ({codename})"
    text = (f'PRETTY_NAME="{pretty}"\nNAME="Debian GNU/Linux"\nVERSION_ID="{major}"\n'
            f'VERSION="{major} ({codename})"\nVERSION_CODENAME={codename}\nID=debian\n'
            'HOME_URL="https://www.debian.org/"\nSUPPORT_URL="https://www.debian.org/support"\n'
            'BUG_REPORT_URL="https://bugs.debian.org/"\n')
    return Distro(f"debian{major}", "debian", major, "Debian GNU/Linux", "Debian", pretty,
                  {"os-release": text, "debian_version": f"{point}\n"})


def _ubuntu(version: str, point: str, codename: str, title: str, debian: str) -> Distro:
    pretty = f"Ubuntu {point} LTS"
    text = (f'NAME="Ubuntu"\nVERSION="{point} LTS ({title})"\nID=ubuntu\nID_LIKE=debian\n'
            f'PRETTY_NAME="{pretty}"\nVERSION_ID="{version}"\nHOME_URL="https://www.ubuntu.com/"\n'
            'SUPPORT_URL="https://help.ubuntu.com/"\nBUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"\n'
            'PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"\n'
            f"VERSION_CODENAME={codename}\nUBUNTU_CODENAME={codename}\n")
    lsb = (f"DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE={version}\nDISTRIB_CODENAME={codename}\n"
           f'DISTRIB_DESCRIPTION="{pretty}"\n')
    return Distro(f"ubuntu{version}", "ubuntu", version, "Ubuntu", "Debian", pretty,
                  {"os-release": text, "lsb-release": lsb, "debian_version": f"{debian}/sid\n"})


def _sles(major: str, sp: str) -> Distro:
    pretty = f"SUSE Linux Enterprise Server {major} SP{sp}"
    suse_release = f"SUSE Linux Enterprise Server {major} (x86_64)\nVERSION = {major}\nPATCHLEVEL = {sp}\n"
    files: dict[str, str] = {}
    if major == "12":
        suse_release += ("# This file is deprecated and will be removed in a future service pack or release.\n"
                         "# Please check /etc/os-release for details about this release.\n")
    if major in ("11", "12"):
        files["SuSE-release"] = suse_release
    if major != "11":
        pairs = [("NAME", "SLES"), ("VERSION", f"{major}-SP{sp}"), ("VERSION_ID", f"{major}.{sp}"),
                 ("PRETTY_NAME", pretty), ("ID", "sles")]
        if major == "15":
            pairs += [("ID_LIKE", "suse")]
        pairs += [("ANSI_COLOR", "0;32"), ("CPE_NAME", f"cpe:/o:suse:sles:{major}:sp{sp}")]
        if major == "15":
            pairs += [("DOCUMENTATION_URL", "https://documentation.suse.com/")]
        files["os-release"] = _kv(pairs)
    return Distro(f"sles{major}.{sp}", "sles", f"{major}.{sp}", "SLES", "Suse", pretty, files)


DISTROS: dict[str, Distro] = {d.key: d for d in (
    _rhel("6.10", "Santiago", True), _rhel("7.9", "Maipo", True), _rhel("8.8", "Ootpa", False),
    _centos("6.7", "6.7"), _centos("7", "7.9.2009"), _centos("8", "8.5.2111"),
    _rocky("8.9", "Green Obsidian"), _rocky("9.3", "Blue Onyx"),
    _debian("10", "10.13", "buster"), _debian("11", "11.8", "bullseye"), _debian("12", "12.4", "bookworm"),
    _ubuntu("18.04", "18.04.6", "bionic", "Bionic Beaver", "buster"),
    _ubuntu("20.04", "20.04.6", "focal", "Focal Fossa", "bullseye"),
    _ubuntu("22.04", "22.04.3", "jammy", "Jammy Jellyfish", "bookworm"),
    _sles("11", "4"), _sles("12", "5"), _sles("15", "5"),
)}

# The distro of instances started from the lab's cloud image.
CLOUD_IMAGE_DISTRO = "rocky9.3"
