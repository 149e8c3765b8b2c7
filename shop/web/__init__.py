"""The storefront: one HTML page (index.html) and its ES modules and CSS under static/, served
by the shop's own process. No build step: the browser loads the modules as they are."""
