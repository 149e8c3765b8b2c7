"""The order dispatcher: consumes order.created, notifies the warehouse and shipping by
signed webhooks, and marks orders Dispatched once every target acknowledged."""
