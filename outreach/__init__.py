"""服务找人 and 一点就能办: the centre's data read safely, segments as rules, personal signed links that
open the right online form, personal cards, and the funnel from sent to business completed. The
campaign engine (callout/) delivers what this package decides."""
