"""Running the daemon as a system service: the files each platform's service manager reads
(systemd unit, WinSW XML, launchd plist; one module each), the systemd notify protocol the
daemon speaks (``notify``), and the layout they share (``spec``). ``cli/service.py`` installs
them. Nothing here imports the runtime."""
