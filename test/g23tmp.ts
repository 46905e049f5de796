import { documentText, remediationDocumentContent, collectorDocumentContent } from '../lib/constructs/guest-documents';
console.log(Buffer.byteLength(documentText(remediationDocumentContent()), 'utf8'), Buffer.byteLength(documentText(collectorDocumentContent()), 'utf8'));
