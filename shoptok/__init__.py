"""shoptok-recon: ELT and reconciliation for merchants selling on Shopify and TikTok Shop."""

__version__ = "0.1.0"
