#!/usr/bin/env bash
# BeforeInstall: nginx serving /var/www/my-app (Amazon Linux 2023).
set -euo pipefail
dnf install -y nginx
mkdir -p /var/www/my-app
cat > /etc/nginx/conf.d/my-app.conf <<'CONF'
server {
    listen 80 default_server;
    root /var/www/my-app;
    index index.html;
}
CONF
# The stock server block also claims default_server on port 80.
sed -i 's/listen       80 default_server;/listen       80;/; s/listen       \[::\]:80 default_server;/listen       [::]:80;/' /etc/nginx/nginx.conf
nginx -t
