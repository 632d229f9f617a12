# Sealing profile: the PCRs a container key is sealed to (SHA-256 bank).
# firmware and its configuration (0-7), GRUB's commands and files (8, 9),
# the root filesystem image measured by measured-init (13).
pcrs = sha256:0,1,2,3,4,5,6,7,8,9,13
# yes: PolicyAuthValue too, so the key also needs the container's PIN
pin = no
