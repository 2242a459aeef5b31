/**
 * Capture I/O: read pcap/pcapng files or stdin into Batches, format their timestamps, write them back.
 * See reader.ts, writer.ts, timestamps.ts and source.ts.
 */
export { openCapture, openCaptureBytes } from './reader';
export type { CaptureReader, CaptureFormat, InterfaceInfo, PcapVariant, ReaderOptions } from './reader';
export { createWriter, pcapInterface, MemorySink, DEFAULT_SNAPLEN } from './writer';
export type { ByteSink, CaptureWriter, InterfaceSpec, PacketMeta, WriteFormat, WriterOptions } from './writer';
export { formatEpoch, unitsFromTsresol, tsresolFromUnits } from './timestamps';
export type { TsKind, TsUnits } from './timestamps';
