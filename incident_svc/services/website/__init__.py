"""Website banners: publish, withdraw, and who a personal banner is for."""
