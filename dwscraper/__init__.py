"""dwscraper: Deutsche Welle articles as clean JSON Lines records."""
