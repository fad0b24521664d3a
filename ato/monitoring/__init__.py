"""The monitoring loop: decisions joined with labels as they mature, daily performance and
business metrics (README "Monitoring")."""
