"""Fund supervision (智能监控): windowed rules over visits and settlements, alerts."""
