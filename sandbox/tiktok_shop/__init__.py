"""TikTok Shop Open API (202309) emulator."""
